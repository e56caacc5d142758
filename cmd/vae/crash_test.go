//go:build linux

package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/govae/vae/run"
)

// crashRun is one run of the vae binary in the crash test.
type crashRun struct {
	t    *testing.T
	bin  string
	dir  string   // the run folder
	args []string // of vae train, but --out or --resume
}

// exec runs vae train with args, and calls kill, if set, with the process
// once started (kill sends SIGKILL when it sees fit and returns when the
// process has ended or never will be killed). It returns whether the
// process was killed, its exit status otherwise, and its stderr.
func (r *crashRun) exec(args []string, kill func(p *os.Process, exited <-chan struct{})) (killed bool, code int, stderr string) {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan struct{})
	var wg sync.WaitGroup
	if kill != nil {
		wg.Go(func() { kill(cmd.Process, exited) })
	}
	err := cmd.Wait()
	close(exited)
	wg.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true, -1, errb.String()
		}
		return false, exit.ExitCode(), errb.String()
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return false, 0, errb.String()
}

// next runs the command that goes on with the run after a crash: vae
// train --resume, or, where that says the folder holds no run yet, the
// train that starts it. kill may kill it as exec's does. It returns
// whether the run is done (also when resume finds it finished already),
// and fails the test on any other refusal.
func (r *crashRun) next(kill func(p *os.Process, exited <-chan struct{})) (done bool) {
	r.t.Helper()
	args := []string{"train", "--resume", r.dir}
	if _, err := os.Stat(filepath.Join(r.dir, run.SpecFile)); err != nil {
		// Resume must refuse, saying what to run instead.
		killed, code, stderr := r.exec(args, nil)
		if last := lastLine(stderr); killed || code != 1 || !strings.Contains(last, "start one with vae train --out "+r.dir) {
			r.t.Fatalf("resume of a folder without spec.json: exit %d, %q; want 1 and a line saying to start the run", code, last)
		}
		args = append([]string{"train", "--out", r.dir}, r.args...)
	}
	killed, code, stderr := r.exec(args, kill)
	if code == 1 && strings.Contains(lastLine(stderr), "run has already done 3 of 3 epochs") {
		return true // killed after its last write
	}
	if !killed && code != 0 {
		r.t.Fatalf("vae %s: exit %d: %s", strings.Join(args, " "), code, lastLine(stderr))
	}
	return !killed
}

// killAfter returns a kill that sends SIGKILL after d.
func killAfter(d time.Duration) func(p *os.Process, exited <-chan struct{}) {
	return func(p *os.Process, exited <-chan struct{}) {
		select {
		case <-time.After(d):
			p.Signal(syscall.SIGKILL)
		case <-exited:
		}
	}
}

// watcher reports the files created and renamed into a folder, by inotify.
type watcher struct {
	f      *os.File
	events chan fsEvent
}

type fsEvent struct {
	name  string
	moved bool // renamed into the folder (a write's end); else created (its start)
}

func watch(t *testing.T, dir string) *watcher {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		unix.Close(fd)
		t.Fatalf("inotify: %v", err)
	}
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), events: make(chan fsEvent, 1024)}
	go func() {
		defer close(w.events)
		buf := make([]byte, 64<<10)
		for {
			n, err := w.f.Read(buf)
			if err != nil {
				return // closed
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
				off += unix.SizeofInotifyEvent + int(ev.Len)
				w.events <- fsEvent{name: name, moved: ev.Mask&unix.IN_MOVED_TO != 0}
			}
		}
	}()
	return w
}

func (w *watcher) close() {
	w.f.Close()
	for range w.events {
	}
}

// kind returns the run file an event is about, and whether the event is
// the start of its write (the temporary file created) or its end (renamed
// into place); "" for other files.
func (e fsEvent) kind() (file string, start bool) {
	for _, f := range runFiles {
		switch {
		case e.moved && e.name == f:
			return f, false
		case !e.moved && strings.HasPrefix(e.name, "."+f+".tmp-"):
			return f, true
		}
	}
	return "", false
}

var runFiles = []string{run.SpecFile, run.MetricsFile, run.BestFile, run.CheckpointFile, run.LatentPNG, run.ManifoldPNG,
	run.ReconstructionsPNG, run.SamplesPNG, run.LossPNG, run.KLPNG, run.ModelFile}

// writeKey names the n-th start or end of a write of file.
type writeKey struct {
	file  string
	start bool
}

// killAtWrite returns a kill that sends SIGKILL when w reports the n-th
// start (or end) of a write of file.
func killAtWrite(w *watcher, at writeKey, n int) func(p *os.Process, exited <-chan struct{}) {
	return func(p *os.Process, exited <-chan struct{}) {
		seen := 0
		for {
			select {
			case e := <-w.events:
				if f, start := e.kind(); f == at.file && start == at.start {
					if seen++; seen == n {
						p.Signal(syscall.SIGKILL)
						return
					}
				}
			case <-exited:
				return
			}
		}
	}
}

// TestCrash kills vae train with SIGKILL at random moments and at every
// kind of file write, and resumes each run as its errors say until it is
// done: every run ends with the model, best model and pictures of an
// uninterrupted run, byte for byte, and no temporary file. A run whose
// disk fills up (a file size limit) resumes the same.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it about 80 times")
	}
	start := time.Now()
	bin := buildVAE(t)
	data := tinyData(t)
	args := []string{"--data-dir", data, "--hidden", "16", "--latent", "2", "--batch", "32", "--epochs", "3", "--validation", "40"}
	root := t.TempDir()
	final := append([]string{run.BestFile}, finalFiles...)

	// The uninterrupted run, watched: its writes and its duration.
	ref := &crashRun{t: t, bin: bin, dir: filepath.Join(root, "ref"), args: args}
	os.Mkdir(ref.dir, 0o755)
	w := watch(t, ref.dir)
	writes := map[writeKey]int{}
	var order []writeKey
	refStart := time.Now()
	if killed, code, stderr := ref.exec(append([]string{"train", "--out", ref.dir}, args...), nil); killed || code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	refTime := time.Since(refStart)
	w.f.Close()
	for e := range w.events {
		if f, start := e.kind(); f != "" {
			k := writeKey{f, start}
			if writes[k] == 0 {
				order = append(order, k)
			}
			writes[k]++
		}
	}
	for _, f := range runFiles {
		if writes[writeKey{f, true}] == 0 || writes[writeKey{f, false}] == 0 {
			t.Fatalf("the run wrote no %s: %v", f, writes)
		}
	}

	rng := rand.New(rand.NewPCG(20261201, 1))
	kills, midWrite, late, runs := 0, 0, 0, 0
	check := func(r *crashRun) {
		t.Helper()
		sameFiles(t, r.dir, ref.dir, r.dir, final...)
		noTemporaryFiles(t, r.dir, r.dir)
		if m, err := run.ReadMetrics(filepath.Join(r.dir, run.MetricsFile)); err != nil || len(m) != 3 {
			t.Errorf("%s: %d epochs of metrics, %v", r.dir, len(m), err)
		}
	}
	// stale counts the temporary files a kill left.
	stale := func(dir string) int {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
		return len(tmps)
	}

	// Killed right at the start and right at the end of each kind of
	// write, at one of its occurrences drawn at random.
	for _, k := range order {
		n := 1 + rng.IntN(writes[k])
		r := &crashRun{t: t, bin: bin, dir: filepath.Join(root, "write", strings.TrimPrefix(k.file, ".")+map[bool]string{true: "-start", false: "-end"}[k.start]), args: args}
		os.MkdirAll(r.dir, 0o755)
		w := watch(t, r.dir)
		killed, code, stderr := r.exec(append([]string{"train", "--out", r.dir}, args...), killAtWrite(w, k, n))
		w.close()
		switch {
		case killed:
			kills++
			midWrite += min(1, stale(r.dir))
		case code != 0:
			t.Fatalf("%s: exit %d: %s", r.dir, code, lastLine(stderr))
		default: // the last write's end, seen only once the process had ended
			late++
		}
		if !r.next(nil) {
			t.Fatalf("%s: killed without a kill", r.dir)
		}
		check(r)
		runs++
	}

	// Killed at random moments: the first train, then each resume with
	// probability 1/2, until one is let finish.
	for i := range 12 {
		r := &crashRun{t: t, bin: bin, dir: filepath.Join(root, "random", string(rune('a'+i))), args: args}
		killed, _, _ := r.exec(append([]string{"train", "--out", r.dir}, args...), killAfter(time.Duration(rng.Int64N(int64(refTime)))))
		for killed {
			kills++
			midWrite += min(1, stale(r.dir))
			var kill func(*os.Process, <-chan struct{})
			if rng.IntN(2) == 0 {
				kill = killAfter(time.Duration(rng.Int64N(int64(refTime))))
			}
			killed = !r.next(kill)
		}
		check(r)
		runs++
	}

	// The disk fills up (here: a file size limit, at which writes fail
	// with EFBIG; Go ignores SIGXFSZ) at the first model file, best or
	// checkpoint, after spec.json and the metrics.
	if sh, err := exec.LookPath("sh"); err == nil {
		r := &crashRun{t: t, bin: sh, dir: filepath.Join(root, "full"), args: args}
		_, code, stderr := r.exec(append([]string{"-c", `ulimit -f 16 && exec "$0" "$@"`, bin, "train", "--out", r.dir}, args...), nil)
		if code != 1 || !strings.Contains(stderr, "file too large") {
			t.Errorf("train on a full disk: exit %d, %q; want 1 and a write error", code, lastLine(stderr))
		}
		if _, err := os.Stat(filepath.Join(r.dir, run.CheckpointFile)); err == nil {
			t.Errorf("a checkpoint was written on a full disk")
		}
		r.bin = bin
		r.args = args
		if !r.next(nil) {
			t.Fatal("killed without a kill")
		}
		check(r)
		runs++
	}
	t.Logf("%d runs, %d kills (%d left a temporary file, %d came too late), at %d kinds of write and at random; uninterrupted run %v, all %v",
		runs, kills, midWrite, late, len(order), refTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A run folder that another process trains is refused, and its temporary
// files are left alone; once the lock is given back it opens as usual.
func TestRunFolderBusy(t *testing.T) {
	spec := tinySpec(t.TempDir())
	dir := writeRun(t, spec, nil, spec.Train)
	tmp := filepath.Join(dir, ".checkpoint.safetensors.tmp-42") // being written by the other process
	os.WriteFile(tmp, []byte("x"), 0o644)

	unlock, err := lock(dir) // the other process; flock is per open file, so this stands for it
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resume(context.Background(), dir, 0, Hooks{})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Resume of a busy folder: %v, want ErrBusy", err)
	}
	oneLine(t, "busy", err, dir, "another process is training this run")
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("the other process's temporary file was removed: %v", err)
	}
	unlock()
	_, err = Resume(context.Background(), dir, 0, Hooks{}) // fails on the missing data, after the lock
	if errors.Is(err, ErrBusy) {
		t.Fatalf("Resume after unlock: %v", err)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Error("the stale temporary file was not removed once the folder was free")
	}
}

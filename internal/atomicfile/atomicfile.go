// Package atomicfile writes files so that a reader, a crash or a Ctrl-C never
// sees half of one: the content goes to a temporary file in the same folder,
// which is synced and then renamed over the destination.
//
// Only a regular file is replaced that way. A symbolic link is followed and
// its target written (created if missing); a device, FIFO or /dev/stdout is
// written through in place, as a shell's redirection would; a folder is an
// error. The temporary files are named "."+name+".tmp-"+digits, the pattern
// TempPattern matches, so that what a killed process left behind can be
// found and removed.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write creates or replaces the file at path with what fill writes. If fill
// or any step fails, the destination is left as it was and the temporary
// file is removed. An existing file keeps its permissions; a new one gets
// 0644.
func Write(path string, fill func(w io.Writer) error) (err error) {
	target, mode, through, err := resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if through {
		return writeThrough(path, fill)
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, TempPattern(base))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), target); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// resolve follows the symbolic links at path to the file that Write
// replaces, and returns its permissions (0644 for a new file). through is set
// for a destination that must be written in place: a device, a FIFO, a
// socket, or a link into /proc such as /dev/stdout.
func resolve(path string) (target string, mode fs.FileMode, through bool, err error) {
	target = path
	for range 40 {
		fi, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return target, 0o644, false, nil
		case err != nil:
			return "", 0, false, err
		case fi.Mode().IsRegular():
			return target, fi.Mode().Perm(), false, nil
		case fi.IsDir():
			return "", 0, false, fmt.Errorf("%s is a folder", target)
		case fi.Mode()&fs.ModeSymlink == 0, strings.HasPrefix(target, "/proc/"):
			return target, 0, true, nil
		}
		link, err := os.Readlink(target)
		if err != nil {
			return "", 0, false, err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(target), link)
		}
		target = link
	}
	return "", 0, false, errors.New("too many levels of symbolic links")
}

// writeThrough writes what fill writes into the existing non-regular file
// at path, in place.
func writeThrough(path string, fill func(w io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// TempPattern matches, with filepath.Match, the names of Write's temporary
// files for the file named base.
func TempPattern(base string) string { return "." + base + ".tmp-*" }

// WriteFile is Write for content already in memory.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// syncDir makes the rename durable where the platform allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

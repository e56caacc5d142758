//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lock takes the run folder dir for this process, so that a second `vae
// train` on it is refused instead of deleting the first's temporary files
// or interleaving checkpoints. The lock is an flock on LockFile, which the
// kernel releases when the process ends however it ends, so a crash leaves
// nothing to clean up.
func lock(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the run folder: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (wait for it to finish, or stop it)", dir, ErrBusy)
		}
		return nil, fmt.Errorf("lock the run folder %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

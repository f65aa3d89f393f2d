//go:build unix

package durable

import (
	"os"
	"path/filepath"
	"syscall"
)

// Lock takes an exclusive lock (flock) on dir/lock without waiting; it
// fails with ErrLocked when another process holds it. The lock dies with
// the process.
func Lock(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, ErrLocked
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Package durable holds the two habits of every on-disk spool in
// dnsscout (ingest/remote, alert): a file is written so that a crash
// leaves either the old contents or the new, never half of them, and one
// process at a time owns a spool directory. It does not know what the
// files hold, nor when to remove them.
package durable

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrLocked: another process holds the directory's lock.
var ErrLocked = errors.New("durable: directory locked by another process")

// TempPrefix starts the names of WriteFile's temporary files; a spool's
// recovery removes those a crash left behind.
const TempPrefix = ".tmp-"

// WriteFile writes data to dir/name durably: to a temporary file in dir,
// synced, renamed over name, and dir synced, so that after a crash the
// file is either absent (or as before) or complete.
func WriteFile(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, TempPrefix+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// SyncDir syncs a directory, making the renames and creations in it
// durable. File systems that cannot sync a directory are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

//go:build !unix

package durable

// Lock is a no-op where flock(2) does not exist: run one process per
// directory there.
func Lock(dir string) (unlock func(), err error) { return func() {}, nil }

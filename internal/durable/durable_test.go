package durable

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	// A temporary file left by a crash is overwritten, not an error.
	if err := os.WriteFile(filepath.Join(dir, TempPrefix+"f"), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"first", "second, longer", ""} {
		if err := WriteFile(dir, "f", []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "f"))
		if err != nil || string(b) != content {
			t.Errorf("read %q, %v; want %q", b, err, content)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only f", len(ents))
	}
	if err := WriteFile(filepath.Join(dir, "missing"), "f", nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Errorf("second Lock: %v, want ErrLocked", err)
	}
	unlock()
	unlock, err = Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock()
}

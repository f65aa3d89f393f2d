package ingest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// sourceFiles makes a directory with a one-byte file, an empty file and a
// FIFO.
func sourceFiles(t *testing.T) (dir, file, empty, fifo string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "capture.pcap")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty = filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo = filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, file, empty, fifo
}

// TestChecksLedgerFirst checks which first sources make ingest ask its
// ledger before it reads anything: those readFile checks (a non-empty
// regular file, prefixed or not, without --force), listeners and live
// captures skipped since they run beside the files.
func TestChecksLedgerFirst(t *testing.T) {
	dir, file, empty, fifo := sourceFiles(t)
	for _, tc := range []struct {
		name    string
		sources []string
		force   bool
		want    bool
	}{
		{"file", []string{file}, false, true},
		{"file then FIFO", []string{file, fifo}, false, true},
		{"prefixed file", []string{"pcap:" + file}, false, true},
		{"listener then file", []string{"dnstap:unix:" + filepath.Join(dir, "sock"), "live:lo", file}, false, true},
		{"forced file", []string{file}, true, false},
		{"empty file", []string{empty, file}, false, false},
		{"FIFO then file", []string{fifo, file}, false, false},
		{"directory", []string{dir}, false, false},
		{"stdin", []string{"-"}, false, false},
		{"missing", []string{filepath.Join(dir, "missing")}, false, false},
		{"listener only", []string{"live:lo"}, false, false},
		{"none", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ChecksLedgerFirst(tc.sources, tc.force); got != tc.want {
				t.Errorf("ChecksLedgerFirst(%q, %v) = %v, want %v", tc.sources, tc.force, got, tc.want)
			}
		})
	}
}

// TestFinite checks which sources end by themselves: regular files
// (prefixed or not, empty too), not standard input, a FIFO, a directory,
// a missing file, a listener or a live capture among them.
func TestFinite(t *testing.T) {
	dir, file, empty, fifo := sourceFiles(t)
	for _, tc := range []struct {
		name    string
		sources []string
		want    bool
	}{
		{"files", []string{file, empty, "zeek:" + file}, true},
		{"stdin", []string{file, "-"}, false},
		{"FIFO", []string{file, fifo}, false},
		{"directory", []string{dir}, false},
		{"missing", []string{filepath.Join(dir, "missing")}, false},
		{"listener", []string{file, "dnstap:unix:" + filepath.Join(dir, "sock")}, false},
		{"live capture", []string{"live:lo", file}, false},
		{"none", nil, false},
	} {
		if got := Finite(tc.sources); got != tc.want {
			t.Errorf("%s: Finite(%q) = %v, want %v", tc.name, tc.sources, got, tc.want)
		}
	}
}

package alert

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseQueue: a queue file's parser takes any bytes (a disk can hand
// back anything) without panicking, and what it accepts is valid.
func FuzzParseQueue(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "spool", "*.ndjson"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(spoolHeader + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, size, err := parseQueue(data)
		if err != nil {
			return
		}
		if size != int64(len(data)) {
			t.Fatalf("size %d of %d bytes", size, len(data))
		}
		for _, r := range recs {
			if err := r.Alert.check(); err != nil {
				t.Fatalf("accepted an invalid alert: %v", err)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzDoneLog: a sink's log, however damaged, loads into IDs that are
// valid, and a rewrite of it loads the same.
func FuzzDoneLog(f *testing.F) {
	f.Add([]byte("1773480413 d 355658994fdc8317a153f73b00d07f2ddbe602373200755e47b5c794657faa8b\n1773480414 x abc\n17734"))
	f.Add([]byte("1 r a\n\n  \n2 q b\n3 d a b\n-5 d c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "s.log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := loadDoneLog(path, 0)
		if err != nil {
			t.Fatal(err)
		}
		for id, at := range l.done {
			if !validID(id) || at < 0 {
				t.Fatalf("loaded %q at %d", id, at)
			}
		}
		b, _ := os.ReadFile(path)
		if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
			t.Fatalf("a torn last line was kept: %q", b)
		}
		if err := writeDoneLog(dir, "s.log", l.done); err != nil {
			t.Fatal(err)
		}
		l2, err := loadDoneLog(path, 0)
		if err != nil || len(l2.done) != len(l.done) || l2.rewrite {
			t.Fatalf("rewritten log: %v, %d IDs (want %d), rewrite %v", err, len(l2.done), len(l.done), l2.rewrite)
		}
	})
}

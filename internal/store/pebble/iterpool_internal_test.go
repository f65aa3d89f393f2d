package pebble

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestIterPoolKeepsNoneDuringWrite checks the rule that makes reused
// iterators safe: while a write is in progress no iterator goes back to
// the pool (one made before the write and one made after it was applied
// would both be idle, and a lookup could take the older after a lookup
// that took the newer: storetest's concurrent case once saw a count go
// backwards so), and the first iterator after the write sees it.
func TestIterPoolKeepsNoneDuringWrite(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := []byte{tSys, 't', 'e', 's', 't'}
	lo, hi := key, prefixEnd(key)
	keys := func(pi pooledIter) int {
		n := 0
		for ok := pi.it.First(); ok; ok = pi.it.Next() {
			n++
		}
		return n
	}
	p := &db.iters
	before := p.get(db.pdb, lo, hi)
	p.begin()
	if err := db.pdb.Set(key, []byte("v"), pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	during := p.get(db.pdb, lo, hi)
	if keys(before) != 0 || keys(during) != 1 {
		t.Fatalf("before the write %d keys, after it %d; want 0 and 1", keys(before), keys(during))
	}
	p.put(during)
	p.put(before)
	if n := len(p.idle); n != 0 {
		t.Fatalf("%d iterators kept while a write is in progress", n)
	}
	p.end()
	next := p.get(db.pdb, lo, hi)
	if keys(next) != 1 {
		t.Fatalf("the first iterator after the write sees %d keys, want 1", keys(next))
	}
	p.put(next)
	if again := p.get(db.pdb, lo, hi); again.it != next.it {
		t.Fatal("an idle iterator made after the write is not reused")
	} else {
		p.put(again)
	}
}

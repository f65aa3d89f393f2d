package ingest

import (
	"bytes"
	"testing"
)

// walkBoth walks msg with the memo and without it (appendName, the
// reference) and fails the test on any difference: the error, the cut,
// every record, the names read, and the key form of every record's rdata.
func walkBoth(t *testing.T, msg []byte) {
	t.Helper()
	var memo, ref walker
	ref.noMemo = true
	em, er := memo.walk(msg), ref.walk(msg)
	if em != er {
		t.Fatalf("walk: %v with the memo, %v without", em, er)
	}
	if em != wireOK {
		return
	}
	if memo.cut != ref.cut || memo.cutSection != ref.cutSection || memo.extRcode != ref.extRcode {
		t.Fatalf("cut %v/%d ext %d with the memo, %v/%d ext %d without",
			memo.cut, memo.cutSection, memo.extRcode, ref.cut, ref.cutSection, ref.extRcode)
	}
	if !bytes.Equal(memo.qname, ref.qname) || len(memo.rrs) != len(ref.rrs) {
		t.Fatalf("question %x, %d records with the memo, %x, %d without", memo.qname, len(memo.rrs), ref.qname, len(ref.rrs))
	}
	for i := range memo.rrs {
		a, b := memo.rrs[i], ref.rrs[i]
		// Owners and targets are compared by their bytes: with the memo
		// an owner may share an earlier name's bytes.
		if oa, ob := memo.ownerOf(&a), ref.ownerOf(&b); !bytes.Equal(oa, ob) {
			t.Fatalf("record %d: owner %x with the memo, %x without", i, oa, ob)
		}
		if ta, tb := memo.names[a.target:a.targetTo], ref.names[b.target:b.targetTo]; !bytes.Equal(ta, tb) {
			t.Fatalf("record %d: CNAME target %x with the memo, %x without", i, ta, tb)
		}
		a.name, a.nameEnd, a.target, a.targetTo = 0, 0, 0, 0
		b.name, b.nameEnd, b.target, b.targetTo = 0, 0, 0, 0
		if a != b {
			t.Fatalf("record %d: %+v with the memo, %+v without", i, a, b)
		}
		ka, ea := memo.appendRData([]byte{1}, msg, a.rdOff, a.rdOff+a.rdLen, a.typ)
		kb, eb := appendRData([]byte{1}, msg, b.rdOff, b.rdOff+b.rdLen, b.typ)
		if ea != eb || !bytes.Equal(ka, kb) {
			t.Fatalf("record %d rdata: %x (%v) with the memo, %x (%v) without", i, ka, ea, kb, eb)
		}
	}
}

// TestNameMemo covers the memo's corner cases with hand-made messages:
// pointers to a name, to a suffix of one, to a pointer, a chain past the
// pointer limit that only the memo's count catches, a name whose suffix
// from the memo makes it too long, and names truncated away after a cut.
func TestNameMemo(t *testing.T) {
	hdr := func(an, ns, ar int) []byte {
		return []byte{0, 1, 0x81, 0x80, 0, 1, 0, byte(an), 0, byte(ns), 0, byte(ar)}
	}
	label := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	rec := func(owner []byte, typ uint16, rdata []byte) []byte {
		b := append([]byte{}, owner...)
		b = append(b, byte(typ>>8), byte(typ), 0, 1, 0, 0, 0, 60, byte(len(rdata)>>8), byte(len(rdata)))
		return append(b, rdata...)
	}
	ptr := func(off int) []byte { return []byte{0xc0 | byte(off>>8), byte(off)} }
	q := append(append(append(label("WWW"), label("Example")...), label("com")...), 0) // at 12
	question := append(append([]byte{}, q...), 0, 1, 0, 1)

	cases := map[string][]byte{}

	// Owners pointing at the question and at its suffix; an NS target
	// made of a label and a pointer; glue pointing at that target.
	{
		m := append(hdr(1, 1, 1), question...)
		m = append(m, rec(ptr(12), typeA, []byte{192, 0, 2, 1})...)
		nsAt := len(m) + 2 + 10
		m = append(m, rec(ptr(16), typeNS, append(label("NS1"), ptr(16)...))...)
		m = append(m, rec(ptr(nsAt), typeA, []byte{192, 0, 2, 53})...)
		cases["pointers"] = m
	}
	// A CNAME chain whose targets point into each other.
	{
		m := append(hdr(3, 0, 0), question...)
		t1 := len(m) + 2 + 10
		m = append(m, rec(ptr(12), typeCNAME, append(label("a"), ptr(16)...))...)
		t2 := len(m) + 2 + 10
		m = append(m, rec(ptr(t1), typeCNAME, append(label("B"), ptr(t1)...))...)
		m = append(m, rec(ptr(t2), typeA, []byte{192, 0, 2, 2})...)
		cases["chain"] = m
	}
	// Pointer chains in the rdata of a record of an unknown type: chain B
	// (100 pointers to the question) and chain C (29 pointers to the
	// label "a" of the CNAME target after it, a forward pointer). The
	// target "a" + B takes 101 pointers, within the limit; the next owner,
	// C, then takes 29 + 1 + 101 > 126: only the memo entry's count
	// catches that.
	{
		m := append(hdr(3, 0, 0), question...)
		rd := len(m) + 2 + 10 // rdata of the first record
		chainB, chainC := rd, rd+200
		var chains []byte
		for i := range 100 {
			if i == 99 {
				chains = append(chains, ptr(12)...)
			} else {
				chains = append(chains, ptr(chainB+2*(i+1))...)
			}
		}
		targetAt := rd + 200 + 58 + 2 + 10 // the CNAME's rdata, after chain C and its owner
		for i := range 29 {
			if i == 28 {
				chains = append(chains, ptr(targetAt)...)
			} else {
				chains = append(chains, ptr(chainC+2*(i+1))...)
			}
		}
		m = append(m, rec(ptr(12), 0xff00, chains)...)
		m = append(m, rec(ptr(12), typeCNAME, append(label("a"), ptr(chainB)...))...)
		m = append(m, rec(ptr(chainC), typeA, []byte{192, 0, 2, 3})...)
		if m[targetAt] != 1 || m[targetAt+1] != 'a' {
			t.Fatalf("pointer limit case: no target at %d", targetAt)
		}
		cases["pointer limit"] = m
	}
	// The same with an owner that is one pointer to the target "a",
	// which now takes 126 pointers: 1 + 126 > 126.
	{
		m := append(hdr(3, 0, 0), question...)
		chainB := len(m) + 2 + 10
		var chain []byte
		for i := range 125 {
			if i == 124 {
				chain = append(chain, ptr(12)...)
			} else {
				chain = append(chain, ptr(chainB+2*(i+1))...)
			}
		}
		m = append(m, rec(ptr(12), 0xff00, chain)...)
		targetAt := len(m) + 2 + 10
		m = append(m, rec(ptr(12), typeCNAME, append(label("a"), ptr(chainB)...))...)
		m = append(m, rec(ptr(targetAt), typeA, []byte{192, 0, 2, 8})...)
		cases["pointer limit, one pointer"] = m
	}
	// A name that fits, then one that prepends labels to it through a
	// pointer until it is longer than 255 bytes.
	{
		m := append(hdr(2, 0, 0), question...)
		long := []byte{}
		for range 3 {
			long = append(long, label(string(bytes.Repeat([]byte{'x'}, 63)))...)
		}
		longAt := len(m)
		m = append(m, rec(append(append([]byte{}, long...), ptr(12)...), typeA, []byte{192, 0, 2, 4})...)
		m = append(m, rec(append(label(string(bytes.Repeat([]byte{'y'}, 50))), ptr(longAt)...), typeA, []byte{192, 0, 2, 5})...)
		cases["too long"] = m
	}
	// A CNAME whose rdata is a name followed by junk: its target is
	// dropped from the names, the next owner is written over it, and the
	// one after points at the target.
	{
		m := append(hdr(3, 0, 0), question...)
		tAt := len(m) + 2 + 10
		m = append(m, rec(ptr(12), typeCNAME, append(append(label("t"), ptr(12)...), 0xff))...)
		m = append(m, rec(ptr(12), typeA, []byte{192, 0, 2, 6})...) // written where the target was
		m = append(m, rec(ptr(tAt), typeA, []byte{192, 0, 2, 7})...)
		cases["dropped target"] = m
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) { walkBoth(t, m) })
	}

	// The memo must have been used: a pointer to the question is a hit.
	var w walker
	if w.walk(cases["pointers"]) != wireOK {
		t.Fatal("walk failed")
	}
	if e := w.memo.ents[12]; e.gen != w.memo.gen || e.n != byte(len(q)) || int(e.next) != 12+len(q) {
		t.Fatalf("no memo entry for the question: %+v (generation %d)", e, w.memo.gen)
	}
	if !bytes.Equal(w.ownerOf(&w.rrs[0]), bytes.ToLower(q)) {
		t.Fatalf("owner %q", w.ownerOf(&w.rrs[0]))
	}
}

// FuzzNameMemo compares the walker with its name memo and without it
// (appendName) on arbitrary messages: same verdict, same names, same
// records, same rdata keys.
//
//	go test ./internal/ingest -run '^$' -fuzz FuzzNameMemo -fuzztime 20s
func FuzzNameMemo(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) { walkBoth(t, msg) })
}

// TestBailOfZone checks the bailiwick index a zone keeps for the
// aggregate: valid until the aggregate is reset, made again afterwards.
func TestBailOfZone(t *testing.T) {
	a := newAggregate()
	za, zb := &zoneName{text: "a.test"}, &zoneName{text: "b.test"}
	if i, j := a.bailOfZone(za), a.bailOfZone(zb); i != 1 || j != 2 || a.bailOfZone(za) != 1 {
		t.Fatalf("indexes %d, %d", i, j)
	}
	a.reset()
	if i := a.bailOfZone(zb); i != 1 || a.bails[i-1] != "b.test" {
		t.Fatalf("after reset: b.test has index %d (bails %v)", i, a.bails)
	}
	if i := a.bailOfZone(za); i != 2 || a.bails[i-1] != "a.test" {
		t.Fatalf("after reset: a.test has index %d (bails %v)", i, a.bails)
	}
	// A zone made again (the cache of zones was cleared) gets an index
	// of its own, with the same name, and keeps it.
	again := &zoneName{text: "a.test"}
	if i := a.bailOfZone(again); i != 3 || a.bails[i-1] != "a.test" || a.bailOfZone(again) != 3 {
		t.Fatalf("a.test made again: index %d (bails %v)", i, a.bails)
	}
}

package storetest

import "github.com/dnsscout/dnsscout/internal/pdns"

// ScratchTuples are tuples read by index into the caller's scratch
// (store.Tuples), as an ingest's aggregate hands them over: a reader that
// kept a tuple past the next At of its scratch would see another one.
type ScratchTuples []pdns.Tuple

func (s ScratchTuples) Len() int { return len(s) }

func (s ScratchTuples) At(i int, t *pdns.Tuple) *pdns.Tuple {
	*t = s[i]
	return t
}

package ingest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// memSink is an in-memory Sink with the store's merge semantics.
type memSink struct {
	mu      sync.Mutex
	tuples  map[pdns.Key]*pdns.Tuple
	nx      map[string]*store.NXCount
	upserts int
	fail    error
}

func newMemSink() *memSink {
	return &memSink{tuples: map[pdns.Key]*pdns.Tuple{}, nx: map[string]*store.NXCount{}}
}

func (m *memSink) Upsert(_ context.Context, ts []pdns.Tuple) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.upserts++
	for i := range ts {
		t := ts[i]
		t.SensorIDs = slices.Clone(t.SensorIDs)
		if old, ok := m.tuples[t.Key()]; ok {
			old.Merge(&t)
			continue
		}
		m.tuples[t.Key()] = &t
	}
	return nil
}

func (m *memSink) AddNXDomain(_ context.Context, cs []store.NXCount) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		if old, ok := m.nx[c.Name]; ok {
			old.Merge(&c)
			continue
		}
		c := c
		m.nx[c.Name] = &c
	}
	return nil
}

// lines renders the stored tuples as sorted "name type rdata" lines.
func (m *memSink) lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.tuples {
		out = append(out, k.RRName+" "+pdns.TypeString(k.RRType)+" "+k.RData)
	}
	slices.Sort(out)
	return out
}

func (m *memSink) get(name string, typ uint16, rdata string) *pdns.Tuple {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tuples[pdns.Key{RRName: strings.ToLower(name), RRType: typ, RData: rdata}]
}

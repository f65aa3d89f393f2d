package resolver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// honest answers NXDOMAIN for everything (a resolver with an empty world).
var honest = nxdomain

// hijacker answers NXDOMAIN under "invalid" but hijacks every other
// non-existent name to an advertising address.
func hijacker(q *request) {
	if q.msg == nil {
		return
	}
	if strings.HasSuffix(strings.ToLower(q.msg.Question[0].Name), ".invalid.") {
		nxdomain(q)
		return
	}
	fixedA("198.51.100.66")(q)
}

func TestProbe(t *testing.T) {
	good := newTestServer(t, honest)
	liar := newTestServer(t, fixedA("203.0.113.1"))
	hijack := newTestServer(t, hijacker)
	refusing := newTestServer(t, func(q *request) { q.reply(q.answer(dns.RcodeRefused)) })
	dead := newTestServer(t, silent)
	r := newTestResolver(t, []*testServer{good, liar, hijack, refusing, dead}, func(o *Options) {
		o.Timeout = 300 * time.Millisecond
		o.Retries = 1
	})
	if err := r.Probe(context.Background(), []string{"test", "example.", "."}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		good.addr.String():     "",
		liar.addr.String():     "lies: ",
		hijack.addr.String():   "lies: ",
		refusing.addr.String(): "refuses",
		dead.addr.String():     "unreachable: ",
	}
	for _, st := range r.Servers() {
		prefix := want[st.Address.String()]
		if st.Healthy != (prefix == "") || !strings.HasPrefix(st.Reason, prefix) {
			t.Errorf("%v: healthy=%v reason=%q, want reason prefix %q", st.Address, st.Healthy, st.Reason, prefix)
		}
	}
	// Only the honest server is used now.
	for range 10 {
		resp, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA})
		if err != nil || resp.Server != good.addr {
			t.Fatalf("%v %v", resp, err)
		}
	}
}

func TestProbeAllBad(t *testing.T) {
	liar := newTestServer(t, fixedA("203.0.113.1"))
	dead := newTestServer(t, silent)
	r := newTestResolver(t, []*testServer{liar, dead}, func(o *Options) { o.Timeout = 30 * time.Millisecond; o.Retries = -1 })
	err := r.Probe(context.Background(), nil)
	if !errors.Is(err, ErrNoServers) {
		t.Fatalf("error %v, want ErrNoServers", err)
	}
	for _, a := range []string{liar.addr.String(), dead.addr.String()} {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("error %q does not name %s", err, a)
		}
	}
	if _, err := r.Exchange(context.Background(), Query{Name: "www.example.com", Type: dns.TypeA}); !errors.Is(err, ErrNoServers) {
		t.Errorf("Exchange after all dropped: %v", err)
	}
}

// TestProbeWildcardZone: when every resolver answers under a zone, the zone
// has a wildcard; nobody is dropped for it.
func TestProbeWildcardZone(t *testing.T) {
	a := newTestServer(t, hijacker)
	b := newTestServer(t, hijacker)
	r := newTestResolver(t, []*testServer{a, b}, nil)
	if err := r.Probe(context.Background(), []string{"test"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range r.Servers() {
		if !st.Healthy {
			t.Errorf("%v dropped: %s", st.Address, st.Reason)
		}
	}
}

func TestProbeCancelled(t *testing.T) {
	srv := newTestServer(t, silent)
	r := newTestResolver(t, []*testServer{srv}, func(o *Options) { o.Timeout = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Probe(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
	if !r.Servers()[0].Healthy {
		t.Error("cancelled probe dropped a server")
	}
}

// TestRecheckDropsNewLiar: a resolver that starts lying after Probe is
// caught by the periodic recheck.
func TestRecheckDropsNewLiar(t *testing.T) {
	good := newTestServer(t, honest)
	turncoat := newTestServer(t, honest)
	r := newTestResolver(t, []*testServer{good, turncoat}, func(o *Options) { o.RecheckInterval = 10 * time.Millisecond })
	if err := r.Probe(context.Background(), []string{"test"}); err != nil {
		t.Fatal(err)
	}
	turncoat.setHandler(fixedA("203.0.113.9"))
	waitFor(t, "turncoat dropped", func() bool { return !r.Servers()[1].Healthy })
	if ss := r.Servers(); !ss[0].Healthy || !strings.HasPrefix(ss[1].Reason, "lies: ") {
		t.Errorf("servers %+v", ss)
	}
}

package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestPlanWorldErrors(t *testing.T) {
	tests := []struct {
		name string
		spec WorldSpec
	}{
		{"zone twice", WorldSpec{Zones: []WorldZone{{Name: "example.com"}, {Name: "EXAMPLE.com."}}}},
		{"apex NS in records", WorldSpec{Zones: []WorldZone{{Name: "example.com", Records: "@ NS ns.example.net.\n"}}}},
		{"delegates a world zone", WorldSpec{Zones: []WorldZone{{Name: "example.com", Records: "sub NS ns.example.net.\n"}, {Name: "sub.example.com"}}}},
		{"unknown implementation", WorldSpec{Zones: []WorldZone{{Name: "example.com", Servers: []WorldServer{{Impl: "powerdns"}}}}}},
		{"recursion on NSD", WorldSpec{Zones: []WorldZone{{Name: "example.com", Servers: []WorldServer{{Impl: NSD, Recursion: true}}}}}},
		{"records do not parse", WorldSpec{Zones: []WorldZone{{Name: "example.com", Records: "www A nope\n"}}}},
		{"bad zone name", WorldSpec{Zones: []WorldZone{{Name: "exa..mple"}}}},
		{"server name twice", WorldSpec{Zones: []WorldZone{
			{Name: "example.com", Servers: []WorldServer{{Name: "ns.example.net"}}},
			{Name: "example.org", Servers: []WorldServer{{Name: "ns.example.net"}}}}}},
		{"unknown resolver", WorldSpec{Resolver: "bind"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planWorld(tc.spec)
			if !errors.Is(err, ErrWorldSpec) {
				t.Fatalf("planWorld: %v, want ErrWorldSpec", err)
			}
		})
	}
}

func TestPlanWorldGeneratesHierarchy(t *testing.T) {
	p, err := planWorld(WorldSpec{Resolver: ResolverNone, Zones: []WorldZone{
		{Name: "a.b.example.com"}, {Name: "example.com"}, {Name: "example.test"}, {Name: "10.in-addr.arpa"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	parents := map[string]string{}
	for _, z := range p.zones {
		order = append(order, z.origin)
		if z.parent != nil {
			parents[z.origin] = z.parent.origin
		}
	}
	want := []string{".", "arpa.", "com.", "test.", "example.com.", "example.test.", "10.in-addr.arpa.", "a.b.example.com."}
	if !slices.Equal(order, want) {
		t.Errorf("zones %q, want %q", order, want)
	}
	for child, parent := range map[string]string{"com.": ".", "example.com.": "com.", "a.b.example.com.": "example.com.", "10.in-addr.arpa.": "arpa."} {
		if parents[child] != parent {
			t.Errorf("parent of %s = %q, want %q", child, parents[child], parent)
		}
	}
	if p.needRoot {
		t.Error("an in-process world without Unbound needs root")
	}
}

// TestStartWorld runs the demo's path: no testing.TB, an in-process
// world, Close.
func TestStartWorld(t *testing.T) {
	w, err := StartWorld(context.Background(), WorldSpec{
		Resolver: ResolverInProcess,
		Zones: []WorldZone{
			{Name: "example.com", Records: "www A 192.0.2.10\nprivate A 10.0.0.1\n", Servers: []WorldServer{{AllowTransfer: true, Version: "demo-1.0"}}},
			{Name: "secure.example", Records: "www A 192.0.2.20\n", Sign: Signing{Mode: SignNSEC}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := w.Addr("example.com")
	r := askRD(t, w.Resolver, "www.secure.example.", dns.TypeA, true)
	if !slices.Contains(addrsOf(r.Answer), "192.0.2.20") || count(r.Answer, dns.TypeRRSIG) != 1 {
		t.Errorf("signed zone through the recursor: %v", r)
	}
	if v, _ := chaosTXT(t, addr, "version.bind"); v != "demo-1.0" {
		t.Errorf("version.bind = %q", v)
	}
	if !strings.Contains(w.Text["example.com."], "private.example.com.\t3600\tIN\tA\t10.0.0.1") {
		t.Errorf("zone text:\n%s", w.Text["example.com."])
	}
	w.Close()
	if _, err := askMsg(addr, newQuery("www.example.com.", dns.TypeA, dns.ClassINET, false)); err == nil {
		t.Error("server still answers after Close")
	}
}

// ExampleStartWorld shows the offline demo's use: an in-process world and
// the in-process recursor.
func ExampleStartWorld() {
	w, err := StartWorld(context.Background(), WorldSpec{
		Resolver: ResolverInProcess,
		Zones: []WorldZone{{Name: "example.com", Records: "www A 192.0.2.10\n",
			Servers: []WorldServer{{AllowTransfer: true}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	m, err := w.Recursor.Resolve(context.Background(), "www.example.com", dns.TypeA)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Answer[0].(*dns.A).A)
	// Output: 192.0.2.10
}

// fakeTB records Skipf and Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestRequireBinary(t *testing.T) {
	debianPackages["dnstest-no-such-binary"] = "dnstest-fake-package"
	t.Cleanup(func() { delete(debianPackages, "dnstest-no-such-binary") })
	t.Run("skip", func(t *testing.T) {
		t.Setenv(EnvRealServers, "")
		f := &fakeTB{TB: t}
		RequireBinary(f, "dnstest-no-such-binary")
		if f.failed != "" || !strings.Contains(f.skipped, "dnstest-fake-package") || !strings.Contains(f.skipped, "scripts/install-test-deps.sh") {
			t.Errorf("skipped %q failed %q", f.skipped, f.failed)
		}
	})
	t.Run("require", func(t *testing.T) {
		t.Setenv(EnvRealServers, "require")
		f := &fakeTB{TB: t}
		RequireBinary(f, "dnstest-no-such-binary")
		if f.skipped != "" || !strings.Contains(f.failed, "dnstest-fake-package") {
			t.Errorf("skipped %q failed %q", f.skipped, f.failed)
		}
	})
	t.Run("present", func(t *testing.T) {
		f := &fakeTB{TB: t}
		if p := RequireBinary(f, "sh"); p == "" || f.skipped != "" || f.failed != "" {
			t.Errorf("sh: path %q skipped %q failed %q", p, f.skipped, f.failed)
		}
	})
}

func TestCommonPort(t *testing.T) {
	addrs := []netip.Addr{AllocAddr(t), AllocAddr(t)}
	p, err := commonPort(addrs)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		s := StartServer(t, netip.AddrPortFrom(a, p), dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {}))
		if s.Addr.Port() != p {
			t.Errorf("server on port %d, want %d", s.Addr.Port(), p)
		}
	}
}

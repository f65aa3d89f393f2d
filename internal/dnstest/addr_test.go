package dnstest

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

func TestAllocAddrUnique(t *testing.T) {
	seen := map[netip.Addr]bool{}
	for range 40 {
		a := AllocAddr(t)
		if !AddrPrefix.Contains(a) || reserved(a) {
			t.Fatalf("AllocAddr = %s: outside 127.53.0.0/16 or reserved", a)
		}
		if seen[a] {
			t.Fatalf("AllocAddr returned %s twice", a)
		}
		seen[a] = true
	}
}

// TestAllocAddrLockedElsewhere holds an address's lock the way another
// process would (a separate open file description) and checks it is
// skipped, then handed out once released.
func TestAllocAddrLockedElsewhere(t *testing.T) {
	var first netip.Addr
	t.Run("probe", func(t *testing.T) { first = AllocAddr(t) }) // released at the end of the subtest
	f, err := os.OpenFile(filepath.Join(lockDir(), first.String()+".lock"), os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		t.Skipf("%s was taken by another process meanwhile", first)
	}
	if a := AllocAddr(t); a == first {
		t.Fatalf("AllocAddr returned %s while another holder has its lock", a)
	}
	f.Close()
}

// TestAllocAddrAcrossProcesses runs this test binary twice at once; each
// child allocates addresses and prints them; no address may appear in both.
func TestAllocAddrAcrossProcesses(t *testing.T) {
	if os.Getenv("DNSTEST_ALLOC_CHILD") != "" {
		var out []string
		for range 20 {
			out = append(out, AllocAddr(t).String())
		}
		// Keep the addresses until the sibling is done too: wait for
		// stdin to close.
		os.Stdout.WriteString(strings.Join(out, " ") + "\n")
		var b [1]byte
		_, _ = os.Stdin.Read(b[:])
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type child struct {
		cmd   *exec.Cmd
		stdin io.Closer
		out   *bufio.Reader
	}
	var kids []child
	for range 2 {
		cmd := exec.Command(exe, "-test.run=^TestAllocAddrAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DNSTEST_ALLOC_CHILD=1")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kids = append(kids, child{cmd, in, bufio.NewReader(out)})
	}
	// Both children hold their addresses until stdin closes, so reading
	// both lists first compares two sets held at the same time.
	seen := map[string]int{}
	for i, k := range kids {
		line, err := k.out.ReadString('\n')
		if err != nil {
			t.Fatalf("child %d: %v", i, err)
		}
		for _, a := range strings.Fields(line) {
			if j, dup := seen[a]; dup && j != i {
				t.Errorf("address %s allocated by both processes", a)
			}
			seen[a] = i
		}
	}
	for _, k := range kids {
		k.stdin.Close()
		_, _ = io.Copy(io.Discard, k.out)
		if err := k.cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct addresses, want 40", len(seen))
	}
}

// TestAllocAddrOnLoopback checks that, as root, the address is on lo while
// held and gone after cleanup.
func TestAllocAddrOnLoopback(t *testing.T) {
	RequireRoot(t)
	var a netip.Addr
	t.Run("held", func(t *testing.T) {
		a = AllocAddr(t)
		if !onLoopback(t, a) {
			t.Errorf("%s not on lo while held", a)
		}
		// Adding it again is not an error (ip addr add says "exists").
		if err := addLoopbackAddr(a); err != nil {
			t.Errorf("second add: %v", err)
		}
	})
	if onLoopback(t, a) {
		t.Errorf("%s still on lo after cleanup", a)
	}
	if err := delLoopbackAddr(a); err != nil {
		t.Errorf("deleting an absent address: %v", err)
	}
}

func onLoopback(t *testing.T, a netip.Addr) bool {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := lo.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok && n.IP.Equal(net.IP(a.AsSlice())) {
			return true
		}
	}
	return false
}

func TestReservedBlocks(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"127.53.199.255", false},
		{"127.53.200.0", true},
		{"127.53.205.17", true},
		{"127.53.209.255", true},
		{"127.53.210.0", false},
		{"127.53.250.1", true},
		{"127.53.251.1", false},
	} {
		if got := reserved(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("reserved(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestStartServerSamePort(t *testing.T) {
	s := StartServer(t, netip.AddrPortFrom(AllocAddr(t), 0), NewZoneHandler(mustZone(t, "example.com", readTestZone(t, "example.com.zone"))))
	if s.Addr.Port() == 0 {
		t.Fatal("port 0 after start")
	}
	for _, tcp := range []bool{false, true} {
		r, err := exchangeTest(s.Addr, "www.example.com.", tcp)
		if err != nil || len(r.Answer) != 1 {
			t.Errorf("tcp=%v: %v %v", tcp, r, err)
		}
	}
	if s.Queries() != 2 {
		t.Errorf("Queries() = %d, want 2", s.Queries())
	}
	s.Stop()
	if _, err := exchangeTest(s.Addr, "www.example.com.", true); err == nil {
		t.Error("server answers after Stop")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if r, err := exchangeTest(s.Addr, "www.example.com.", false); err != nil || len(r.Answer) != 1 {
		t.Errorf("after restart: %v %v", r, err)
	}
}

func exchangeTest(addr netip.AddrPort, name string, tcp bool) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	c := &dns.Client{Timeout: time.Second}
	if tcp {
		c.Net = "tcp"
	}
	r, _, err := c.Exchange(m, addr.String())
	return r, err
}

package dnstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// AddrPrefix is the loopback block test servers live in.
var AddrPrefix = netip.MustParsePrefix("127.53.0.0/16")

// Blocks of AddrPrefix that AllocAddr never hands out: `dnsscout demo`
// lives in 127.53.0.0/24, the resolver package's own tests and the
// benchmarks pick fixed addresses in the others.
var reservedBlocks = []struct{ lo, hi netip.Addr }{
	{netip.MustParseAddr("127.53.0.0"), netip.MustParseAddr("127.53.0.255")},
	{netip.MustParseAddr("127.53.200.0"), netip.MustParseAddr("127.53.209.255")},
	{netip.MustParseAddr("127.53.250.0"), netip.MustParseAddr("127.53.250.255")},
}

// AllocAddr returns an address in 127.53.0.0/16 that no other test, in this
// process or any other, holds until t's cleanup. Ownership is an flock on a
// lock file per address under os.TempDir()/dnsscout-dnstest, so it dies
// with the process. Addresses in 127.53.200.0-127.53.209.255 and
// 127.53.250.0/24 are never returned, nor 127.53.0.0/24 (the demo world).
//
// When running as root it also adds the address to the loopback interface
// (as `ip addr add A/32 dev lo` would; an existing address is fine), because
// BIND only listens on addresses configured on an interface, and removes it
// on cleanup. Without root, Linux still lets in-process servers bind any
// 127.0.0.0/8 address.
func AllocAddr(t testing.TB) netip.Addr {
	t.Helper()
	a, err := allocAddr(t)
	if err != nil {
		t.Fatalf("dnstest.AllocAddr: %v", err)
	}
	return a
}

// lockDir is where the per-address lock files live.
func lockDir() string { return filepath.Join(os.TempDir(), "dnsscout-dnstest") }

// addrLocks holds this process's own allocations: flock conflicts between
// two descriptors of one process too, but checking here first is cheaper.
var addrLocks sync.Map // netip.Addr -> *os.File

func allocAddr(l life) (netip.Addr, error) {
	dir := lockDir()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %v", ErrNoAddress, err)
	}
	// Shared by every user's tests, like /tmp itself (the umask took
	// the write bits away); only the owner can change it.
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm() != 0o777 {
		_ = os.Chmod(dir, 0o777|os.ModeSticky)
	}
	root := isRoot()
	// Scan from the bottom so that the set of lock files stays small; the
	// flock decides, concurrent scanners simply skip held addresses.
	for a := netip.MustParseAddr("127.53.1.1"); AddrPrefix.Contains(a); a = a.Next() {
		b := a.As4()
		if b[3] == 0 || b[3] == 255 || reserved(a) {
			continue
		}
		if _, held := addrLocks.Load(a); held {
			continue
		}
		// Read-only is enough for flock, and works on another user's file.
		f, err := os.OpenFile(filepath.Join(dir, a.String()+".lock"), os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("%w: %v", ErrNoAddress, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			_ = f.Close()
			continue
		}
		if root && !portFree(a) {
			// A stray process (say, a server orphaned by a killed test)
			// still listens here: leave the address alone.
			_ = f.Close()
			continue
		}
		if _, loaded := addrLocks.LoadOrStore(a, f); loaded {
			_ = f.Close()
			continue
		}
		if root {
			if err := addLoopbackAddr(a); err != nil {
				addrLocks.Delete(a)
				_ = f.Close()
				return netip.Addr{}, fmt.Errorf("%w: adding %s to lo: %v", ErrNoAddress, a, err)
			}
		}
		l.Cleanup(func() {
			if root {
				_ = delLoopbackAddr(a)
			}
			addrLocks.Delete(a)
			_ = f.Close()
		})
		return a, nil
	}
	return netip.Addr{}, ErrNoAddress
}

func reserved(a netip.Addr) bool {
	for _, r := range reservedBlocks {
		if a.Compare(r.lo) >= 0 && a.Compare(r.hi) <= 0 {
			return true
		}
	}
	return false
}

// portFree reports whether UDP and TCP port 53 can be bound on a.
func portFree(a netip.Addr) bool {
	ap := netip.AddrPortFrom(a, 53).String()
	pc, err := net.ListenPacket("udp", ap)
	if err != nil {
		return false
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", ap)
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// addLoopbackAddr adds a/32 to lo over rtnetlink; EEXIST is success.
func addLoopbackAddr(a netip.Addr) error {
	err := loopbackAddr(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, a)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// delLoopbackAddr removes a/32 from lo; a missing address is success.
func delLoopbackAddr(a netip.Addr) error {
	err := loopbackAddr(unix.RTM_DELADDR, 0, a)
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// loopbackAddr sends one RTM_NEWADDR or RTM_DELADDR request for a/32 on the
// loopback interface and waits for the kernel's acknowledgement.
func loopbackAddr(msgType uint16, flags uint16, a netip.Addr) error {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	ne := binary.NativeEndian
	ip := a.As4()
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, unix.SizeofRtAttr+len(data))
		ne.PutUint16(b[0:], uint16(len(b)))
		ne.PutUint16(b[2:], typ)
		copy(b[unix.SizeofRtAttr:], data)
		return b
	}
	body := make([]byte, unix.SizeofIfAddrmsg)
	body[0] = unix.AF_INET
	body[1] = 32                 // prefix length
	body[2] = 0                  // flags
	body[3] = unix.RT_SCOPE_HOST // scope, as ip(8) picks for 127/8
	ne.PutUint32(body[4:], uint32(lo.Index))
	body = append(body, attr(unix.IFA_LOCAL, ip[:])...)
	body = append(body, attr(unix.IFA_ADDRESS, ip[:])...)
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	msg = append(msg, body...)
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], msgType)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	ne.PutUint32(msg[8:], 1) // sequence
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.SizeofNlMsghdr; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return fmt.Errorf("malformed netlink message")
			}
			if ne.Uint16(b[4:]) == unix.NLMSG_ERROR {
				if l < unix.SizeofNlMsghdr+4 {
					return fmt.Errorf("short netlink error message")
				}
				code := int32(ne.Uint32(b[unix.SizeofNlMsghdr:]))
				if code == 0 {
					return nil
				}
				return unix.Errno(-code)
			}
			adv := (l + 3) &^ 3
			if adv >= len(b) {
				break
			}
			b = b[adv:]
		}
	}
}

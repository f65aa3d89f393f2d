package pcap

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openCapture opens a testdata file, unwrapping gzip.
func openCapture(t testing.TB, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	return bytes.NewReader(b)
}

// TestReadCorpus reads real captures. The expected numbers of DNS
// messages sent from the default ports (53, 5353, 5355) are tshark's:
//
//	tshark -r F -Y '(udp.srcport==53 || udp.srcport==5353 || udp.srcport==5355 ||
//	    tcp.srcport==53 || tcp.srcport==5353 || tcp.srcport==5355) && (dns || mdns || llmnr)'
func TestReadCorpus(t *testing.T) {
	tests := []struct {
		file     string
		packets  uint64
		messages int
	}{
		{"dnscap__dns.pcap", 133, 41},
		{"dnscap__dns6.pcap", 2, 1},
		{"dnscap__dnso1tcp.pcap", 212, 41},
		{"dnscap__edns.pcap", 14, 7},
		{"dnscap__sll2.pcap", 2, 1},
		{"dnscap__vlan11.pcap", 133, 41},
		{"gopacket__test_dns.pcap", 10, 0},
		{"gopassivedns__multiple_udp.pcap", 6, 3},
		{"tcpdump__LINKTYPE_RAW_ipv6.pcap", 1, 0},
		{"tcpdump__dns_tcp.pcap", 11, 1},
		{"tcpdump__edns-opts.pcap", 42, 21},
		{"zeek__dnssec__rrsig.pcap", 7, 3},
		{"zeek__wikipedia.pcap", 136, 18},
		{"derived__mixed-links.pcapng", 7, 3},
		{"derived__dnso1tcp.pcap.gz", 212, 41},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d, g := newTestDecoder(Options{})
			if err := Read(context.Background(), openCapture(t, tc.file), d); err != nil {
				t.Fatal(err)
			}
			st := d.Stats()
			if st.Packets != tc.packets || len(g.msgs) != tc.messages {
				t.Errorf("packets %d messages %d, want %d %d (stats %+v)", st.Packets, len(g.msgs), tc.packets, tc.messages, st)
			}
			if st.MalformedTotal() != 0 {
				t.Errorf("malformed %v", st.Malformed)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	whole, err := os.ReadFile(filepath.Join("testdata", "dnscap__dns.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("not a capture", func(t *testing.T) {
		d, _ := newTestDecoder(Options{})
		if err := Read(context.Background(), strings.NewReader("hello world, this is text"), d); !errors.Is(err, ErrFormat) {
			t.Errorf("Read = %v, want ErrFormat", err)
		}
	})
	t.Run("cut inside a packet", func(t *testing.T) {
		d, g := newTestDecoder(Options{})
		err := Read(context.Background(), bytes.NewReader(whole[:len(whole)-30]), d)
		if !errors.Is(err, ErrTruncatedFile) {
			t.Errorf("Read = %v, want ErrTruncatedFile", err)
		}
		if len(g.msgs) < 40 {
			t.Errorf("only %d messages before the cut", len(g.msgs))
		}
	})
	t.Run("unknown link type", func(t *testing.T) {
		b := bytes.Clone(whole)
		b[20] = 147 // LINKTYPE_USER0
		d, _ := newTestDecoder(Options{})
		if err := Read(context.Background(), bytes.NewReader(b), d); !errors.Is(err, ErrLinkType) {
			t.Errorf("Read = %v, want ErrLinkType", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d, _ := newTestDecoder(Options{})
		if err := Read(ctx, bytes.NewReader(whole), d); !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
	})
}

//go:build linux

// Package live captures DNS traffic from a network interface with
// AF_PACKET (TPACKET_V3 ring, no libpcap, no cgo), filters it in the kernel
// with a classic BPF program built for the DNS ports and the tunnels the
// decoder opens, and feeds the packets to an ingest/pcap Decoder until its
// context is done. It does not decode anything itself.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"

	"github.com/dnsscout/dnsscout/internal/ingest/pcap"
)

// Errors of package live.
var (
	// ErrInterface: the interface does not exist or cannot be opened.
	ErrInterface = errors.New("live: cannot capture on interface")
)

// Options configures Capture.
type Options struct {
	// Interface is the network interface to capture on. Required.
	Interface string
	// Ports are the DNS server ports the kernel filter lets through
	// (packets sent from them, plus IP fragments and tunnels). Default:
	// pcap.DefaultPorts.
	Ports []uint16
	// AnyPort lets every UDP packet through, for the decoder's any-port
	// match (pcap.Options.AnyPort). Default: off.
	AnyPort bool
	// RingBytes is the size of the capture ring shared with the kernel;
	// packets arriving while it is full are dropped by the kernel and
	// counted. Default: 16 MiB.
	RingBytes int
	// Logger receives start and stop lines. Nil discards.
	Logger *slog.Logger
}

// Stats counts what the kernel did for the capture.
type Stats struct {
	Packets uint64 // packets the filter accepted
	Drops   uint64 // packets dropped because the ring was full
}

// blockBytes is the ring's block size: a multiple of the page size holding
// several maximum-size frames.
const blockBytes = 1 << 20

// Capture reads packets from o.Interface and passes them to d until ctx
// is done (then it returns the kernel's counters and a nil error) or the
// decoder's handler fails. ready, if not nil, is called once the socket
// and its filter are in place.
func Capture(ctx context.Context, o Options, d *pcap.Decoder, ready func()) (Stats, error) {
	if len(o.Ports) == 0 {
		o.Ports = pcap.DefaultPorts
	}
	if o.RingBytes <= 0 {
		o.RingBytes = 16 << 20
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "live", "interface", o.Interface)
	ifi, err := net.InterfaceByName(o.Interface)
	if err != nil {
		return Stats{}, fmt.Errorf("%w %q: %v", ErrInterface, o.Interface, err)
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(o.Interface),
		afpacket.SocketDgram, // packets start at the network header
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(blockBytes),
		afpacket.OptNumBlocks(max(2, o.RingBytes/blockBytes)),
		afpacket.OptBlockTimeout(20*time.Millisecond),
		afpacket.OptPollTimeout(100*time.Millisecond),
	)
	if err != nil {
		return Stats{}, fmt.Errorf("%w %q: %v", ErrInterface, o.Interface, err)
	}
	defer tp.Close()
	prog, err := Filter(o.Ports, o.AnyPort, ifi.Flags&net.FlagLoopback != 0)
	if err != nil {
		return Stats{}, err
	}
	if err := tp.SetBPF(prog); err != nil {
		return Stats{}, fmt.Errorf("%w %q: BPF filter: %v", ErrInterface, o.Interface, err)
	}
	log.Info("capturing", "ports", o.Ports)
	if ready != nil {
		ready()
	}
	stats := func() Stats {
		_, s3, err := tp.SocketStats()
		if err != nil {
			return Stats{}
		}
		return Stats{Packets: uint64(s3.Packets()), Drops: uint64(s3.Drops())}
	}
	for {
		if ctx.Err() != nil {
			log.Info("capture stopped")
			return stats(), nil
		}
		data, ci, err := tp.ZeroCopyReadPacketData()
		switch {
		case errors.Is(err, afpacket.ErrTimeout):
			continue
		case err != nil:
			return stats(), fmt.Errorf("%w %q: %v", ErrInterface, o.Interface, err)
		}
		if err := d.Packet(ci.Timestamp.UnixNano(), pcap.LinkRaw, data); err != nil {
			return stats(), err
		}
	}
}

// Linux BPF extension offset for the packet type (SKF_AD_PKTTYPE) and the
// type of packets a host sends (PACKET_OUTGOING).
const packetOutgoing = 4

// Filter builds the kernel filter for packets at the network header (a
// SOCK_DGRAM socket): IPv4 or IPv6 UDP/TCP sent from one of ports, UDP
// to or from a tunnel port (VXLAN 4789, VXLAN-GPE 4790, GENEVE 6081, GTP-U
// 2152, Teredo 3544), GRE and
// IP in IP, IPv4 fragments past the first, and IPv6 packets with extension
// headers (the decoder looks at those itself); with anyPort every UDP
// packet. On a loopback interface every packet passes twice, once
// outgoing: those copies are dropped, as libpcap does.
func Filter(ports []uint16, anyPort, loopback bool) ([]bpf.RawInstruction, error) {
	const (
		accept = 0x40000
		drop   = 0
	)
	tunnelPorts := []uint16{4789, 4790, 6081, 2152, 3544}
	srcPorts := append(slices.Clone(ports), tunnelPorts...)
	a := &bpfAsm{labels: map[string]int{}}
	if loopback {
		a.emit(bpf.LoadExtension{Num: bpf.ExtType})
		a.jeq(packetOutgoing, "drop", "start")
	}
	a.label("start")
	a.emit(bpf.LoadAbsolute{Off: 0, Size: 1}, bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: 4})
	a.jeq(4, "v4", "v6check")
	a.label("v6check")
	a.jeq(6, "v6", "drop")
	a.ipv4(anyPort, srcPorts, tunnelPorts)
	a.ipv6(anyPort, srcPorts, tunnelPorts)
	a.label("accept")
	a.emit(bpf.RetConstant{Val: accept})
	a.label("drop")
	a.emit(bpf.RetConstant{Val: drop})
	return a.assemble()
}

// ipv4 emits the IPv4 part of Filter from label "v4": UDP (any port with
// anyPort) and TCP from a source port in srcPorts or to a tunnel port, any
// later fragment, and IP-in-IP, 6in4 and GRE, which the decoder opens.
func (a *bpfAsm) ipv4(anyPort bool, srcPorts, tunnelPorts []uint16) {
	a.label("v4")
	a.emit(bpf.LoadAbsolute{Off: 9, Size: 1})
	if anyPort {
		a.jeq(17, "accept", "v4tcp")
	} else {
		a.jeq(17, "v4frag", "v4tcp")
	}
	a.label("v4tcp")
	a.jeq(6, "v4frag", "v4tunnel")
	a.label("v4tunnel")
	a.jeq(4, "accept", "v4tunnel6") // IP in IP, GRE: the decoder looks inside
	a.label("v4tunnel6")
	a.jeq(41, "accept", "v4gre")
	a.label("v4gre")
	a.jeq(47, "accept", "drop")
	a.label("v4frag")
	a.emit(bpf.LoadAbsolute{Off: 6, Size: 2})
	a.jset(0x1fff, "accept", "v4port")
	a.label("v4port")
	a.emit(bpf.LoadMemShift{Off: 0}, bpf.LoadIndirect{Off: 0, Size: 2})
	a.portCheck("v4p", srcPorts, "v4dport")
	a.label("v4dport")
	a.emit(bpf.LoadIndirect{Off: 2, Size: 2})
	a.portCheck("v4t", tunnelPorts, "drop")
}

// ipv6 emits the IPv6 part of Filter from label "v6": UDP (any port with
// anyPort) and TCP by port as for IPv4, and every extension header or
// tunnel next header, which the decoder walks.
func (a *bpfAsm) ipv6(anyPort bool, srcPorts, tunnelPorts []uint16) {
	a.label("v6")
	a.emit(bpf.LoadAbsolute{Off: 6, Size: 1})
	if anyPort {
		a.jeq(17, "accept", "v6tcp")
	} else {
		a.jeq(17, "v6port", "v6tcp")
	}
	a.label("v6tcp")
	a.jeq(6, "v6port", "v6ext")
	a.label("v6ext")
	for _, nh := range []uint32{0, 43, 44, 51, 60, 135, 139, 140, 253, 254, 4, 41, 47} {
		next := fmt.Sprintf("v6ext%d", nh)
		a.jeq(nh, "accept", next)
		a.label(next)
	}
	a.jmp("drop")
	a.label("v6port")
	a.emit(bpf.LoadAbsolute{Off: 40, Size: 2})
	a.portCheck("v6p", srcPorts, "v6dport")
	a.label("v6dport")
	a.emit(bpf.LoadAbsolute{Off: 42, Size: 2})
	a.portCheck("v6t", tunnelPorts, "drop")
}

// bpfAsm builds a classic BPF program with symbolic jumps: labels name
// instruction indices, and assemble resolves every jump once the layout
// is known.
type bpfAsm struct {
	p      []bpf.Instruction
	fixes  []bpfFix
	labels map[string]int
}

// bpfFix is a jump at p[at] to resolve: to yes, or to yes or no.
type bpfFix struct {
	at            int
	yes, no       string
	unconditional bool
}

func (a *bpfAsm) emit(ins ...bpf.Instruction) { a.p = append(a.p, ins...) }

// label names the next instruction.
func (a *bpfAsm) label(name string) { a.labels[name] = len(a.p) }

// jeq jumps to yes when A equals v, else to no.
func (a *bpfAsm) jeq(v uint32, yes, no string) {
	a.fixes = append(a.fixes, bpfFix{at: len(a.p), yes: yes, no: no})
	a.emit(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v})
}

// jset jumps to yes when A has any bit of v set, else to no.
func (a *bpfAsm) jset(v uint32, yes, no string) {
	a.fixes = append(a.fixes, bpfFix{at: len(a.p), yes: yes, no: no})
	a.emit(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: v})
}

// jmp always jumps to to.
func (a *bpfAsm) jmp(to string) {
	a.fixes = append(a.fixes, bpfFix{at: len(a.p), yes: to, unconditional: true})
	a.emit(bpf.Jump{})
}

// portCheck accepts a port in list (loaded in A), else goes to last.
func (a *bpfAsm) portCheck(prefix string, list []uint16, last string) {
	for i, port := range list {
		next := fmt.Sprintf("%s%d", prefix, i+1)
		if i == len(list)-1 {
			next = last
		}
		a.jeq(uint32(port), "accept", next)
		if i < len(list)-1 {
			a.label(next)
		}
	}
}

// assemble resolves the jumps; a conditional jump that has to skip more
// than 255 instructions (a very long port list) is an error.
func (a *bpfAsm) assemble() ([]bpf.RawInstruction, error) {
	for _, f := range a.fixes {
		yes, ok := a.labels[f.yes]
		if !ok {
			return nil, fmt.Errorf("live: filter label %q", f.yes)
		}
		skip := func(to int) (uint8, error) {
			d := to - f.at - 1
			if d < 0 || d > 255 {
				return 0, fmt.Errorf("live: filter jump of %d (too many ports?)", d)
			}
			return uint8(d), nil
		}
		if f.unconditional {
			a.p[f.at] = bpf.Jump{Skip: uint32(yes - f.at - 1)}
			continue
		}
		no, ok := a.labels[f.no]
		if !ok {
			return nil, fmt.Errorf("live: filter label %q", f.no)
		}
		j := a.p[f.at].(bpf.JumpIf)
		var err error
		if j.SkipTrue, err = skip(yes); err != nil {
			return nil, err
		}
		if j.SkipFalse, err = skip(no); err != nil {
			return nil, err
		}
		a.p[f.at] = j
	}
	return bpf.Assemble(a.p)
}

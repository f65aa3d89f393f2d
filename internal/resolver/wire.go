package resolver

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// Queries are packed by hand rather than with dns.Msg.Pack: a query is a
// 12-byte header, one question and at most one OPT record, and building it
// from a pre-encoded question costs one append instead of miekg's
// compression map, reflection-free but allocation-heavy packer (≈10 allocs
// per query). Responses are checked on the raw bytes (ID, flags, question)
// before anything is unpacked, so forged or stray datagrams cost almost
// nothing.

const (
	headerLen = 12

	flagQR = 1 << 15
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagCD = 1 << 4

	opcodeMask = 0x7800
	rcodeMask  = 0x000f
)

// appendName appends the uncompressed wire form of name (presentation
// format, any case, with or without the trailing dot) to dst.
func appendName(dst []byte, name string) ([]byte, error) {
	if name == "" {
		return dst, fmt.Errorf("%w: empty name", ErrBadQuery)
	}
	if name == "." {
		return append(dst, 0), nil
	}
	if strings.IndexByte(name, '\\') >= 0 {
		// Escaped presentation form (\. or \DDD): let miekg decode it.
		var buf [256]byte
		n, err := dns.PackDomainName(dns.Fqdn(name), buf[:], 0, nil, false)
		if err != nil {
			return dst, fmt.Errorf("%w: name %q: %v", ErrBadQuery, name, err)
		}
		return append(dst, buf[:n]...), nil
	}
	start := len(dst)
	rest := strings.TrimSuffix(name, ".")
	for {
		label := rest
		i := strings.IndexByte(rest, '.')
		if i >= 0 {
			label, rest = rest[:i], rest[i+1:]
		}
		if len(label) == 0 || len(label) > 63 {
			return dst[:start], fmt.Errorf("%w: name %q has an empty or over-long label", ErrBadQuery, name)
		}
		dst = append(dst, byte(len(label)))
		dst = append(dst, label...)
		if i < 0 {
			break
		}
	}
	dst = append(dst, 0)
	if len(dst)-start > 255 {
		return dst[:start], fmt.Errorf("%w: name %q longer than 255 octets", ErrBadQuery, name)
	}
	return dst, nil
}

// question is a query's question in wire form (name, type, class), packed
// once per Exchange and reused for every attempt and for validation.
type question struct {
	wire  []byte // name + type + class
	name  string // as given, for errors
	qtype uint16
}

func newQuestion(name string, qtype, qclass uint16) (question, error) {
	w, err := appendName(make([]byte, 0, len(name)+6), name)
	if err != nil {
		return question{}, err
	}
	w = binary.BigEndian.AppendUint16(w, qtype)
	w = binary.BigEndian.AppendUint16(w, qclass)
	return question{wire: w, name: name, qtype: qtype}, nil
}

// wireOpts are the header and EDNS bits of one packed query.
type wireOpts struct {
	rd, cd    bool
	edns      bool
	do, nsid  bool
	udpSize   uint16
	authority []byte // IXFR: SOA record for the authority section
}

// appendQuery appends a complete query message to dst.
func appendQuery(dst []byte, id uint16, q *question, o wireOpts) []byte {
	var flags uint16
	if o.rd {
		flags |= flagRD
	}
	if o.cd {
		flags |= flagCD
	}
	var ns, ar uint16
	if o.authority != nil {
		ns = 1
	}
	if o.edns {
		ar = 1
	}
	dst = binary.BigEndian.AppendUint16(dst, id)
	dst = binary.BigEndian.AppendUint16(dst, flags)
	dst = binary.BigEndian.AppendUint16(dst, 1) // QDCOUNT
	dst = binary.BigEndian.AppendUint16(dst, 0) // ANCOUNT
	dst = binary.BigEndian.AppendUint16(dst, ns)
	dst = binary.BigEndian.AppendUint16(dst, ar)
	dst = append(dst, q.wire...)
	dst = append(dst, o.authority...)
	if o.edns {
		// OPT RR: root owner, TYPE 41, CLASS = payload size,
		// TTL = ext-rcode(8) version(8) DO(1) Z(15), RDLEN, options.
		dst = append(dst, 0, 0, 41)
		dst = binary.BigEndian.AppendUint16(dst, o.udpSize)
		var ttl uint32
		if o.do {
			ttl |= 1 << 15
		}
		dst = binary.BigEndian.AppendUint32(dst, ttl)
		if o.nsid {
			dst = append(dst, 0, 4, 0, dns.EDNS0NSID, 0, 0)
		} else {
			dst = append(dst, 0, 0)
		}
	}
	return dst
}

// dropReason says why a datagram was not delivered. Each has a counter.
type dropReason uint8

const (
	dropNone      dropReason = iota
	dropShort                // shorter than a header
	dropHeader               // QR clear or opcode not QUERY
	dropSource               // wrong source address or port
	dropID                   // no query in flight with this ID (late, duplicate or forged)
	dropQuestion             // question section differs from the query's
	dropMalformed            // passed the checks but does not unpack
	dropTCP                  // bad TCP length prefix or stray TCP message
	numDropReasons
)

var dropNames = [numDropReasons]string{
	dropNone:      "none",
	dropShort:     "short",
	dropHeader:    "header",
	dropSource:    "source",
	dropID:        "id",
	dropQuestion:  "question",
	dropMalformed: "malformed",
	dropTCP:       "tcp",
}

func (d dropReason) String() string {
	if d < numDropReasons {
		return dropNames[d]
	}
	return "unknown"
}

// checkHeader validates the parts of a response that do not depend on the
// query: length and the QR bit / opcode.
func checkHeader(b []byte) dropReason {
	if len(b) < headerLen {
		return dropShort
	}
	flags := binary.BigEndian.Uint16(b[2:])
	if flags&flagQR == 0 || flags&opcodeMask != 0 {
		return dropHeader
	}
	return dropNone
}

// checkQuestion reports whether b (a response whose header passed
// checkHeader) carries exactly the question q: one question whose name
// matches case-insensitively and whose type and class are equal. Error
// responses (FORMERR, SERVFAIL, NOTIMP, REFUSED) may omit the question, as
// several servers do; their ID and source still had to match.
func checkQuestion(b []byte, q []byte) dropReason {
	qd := binary.BigEndian.Uint16(b[4:])
	if qd == 0 {
		switch binary.BigEndian.Uint16(b[2:]) & rcodeMask {
		case dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNotImplemented, dns.RcodeRefused:
			return dropNone
		}
		return dropQuestion
	}
	if qd != 1 || len(b) < headerLen+len(q) {
		return dropQuestion
	}
	got := b[headerLen : headerLen+len(q)]
	// Label length octets are < 64, so folding every byte in 'A'..'Z' is a
	// correct case-insensitive comparison of the whole wire name; a
	// compression pointer (0xC0..) never equals a length octet, so such
	// questions are rejected.
	nameLen := len(q) - 4
	for i := 0; i < nameLen; i++ {
		x, y := got[i], q[i]
		if x != y && lower(x) != lower(y) {
			return dropQuestion
		}
	}
	if string(got[nameLen:]) != string(q[nameLen:]) {
		return dropQuestion
	}
	return dropNone
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// rcodeOf returns the 4-bit RCODE of a message whose header was checked.
func rcodeOf(b []byte) int { return int(binary.BigEndian.Uint16(b[2:]) & rcodeMask) }

// truncated reports the TC bit.
func truncated(b []byte) bool { return binary.BigEndian.Uint16(b[2:])&flagTC != 0 }

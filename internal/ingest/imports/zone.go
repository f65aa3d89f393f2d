package imports

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// ZoneOptions configures ReadZone.
type ZoneOptions struct {
	// Origin is the origin for relative names when the file has no
	// $ORIGIN. Default: guessed from FileName (GuessOrigin), else the root.
	Origin string
	// FileName names the file in errors and for the origin guess.
	FileName string
	// Time is the Unix time recorded as zone_time_first and
	// zone_time_last. Required.
	Time int64
}

// ReadZone imports a master file: every record becomes a tuple seen once
// in a zone file at o.Time, with the zone's SOA owner (or the origin) as
// bailiwick. $INCLUDE is refused. A record the parser rejects ends the
// import (zone file syntax cannot resynchronise), after the records before
// it have been given to the sink.
func ReadZone(ctx context.Context, r io.Reader, o ZoneOptions, st *Stats, sink Sink) error {
	if o.Time <= 0 {
		return fmt.Errorf("%w: zone import without a time", ErrFormat)
	}
	origin := o.Origin
	if origin == "" {
		origin = GuessOrigin(o.FileName)
	}
	origin = dns.Fqdn(origin)
	if _, ok := dns.IsDomainName(origin); !ok {
		return fmt.Errorf("%w: bad zone origin %q", ErrFormat, origin)
	}
	zp := dns.NewZoneParser(r, origin, o.FileName)
	zp.SetIncludeAllowed(false)
	bailiwick := ""
	for n := 0; ; n++ {
		if n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rr, ok := zp.Next()
		if !ok {
			break
		}
		atomic.AddUint64(&st.Lines, 1)
		h := rr.Header()
		if h.Class != dns.ClassINET {
			st.skip(lineErr(NotIN, "class %d", h.Class))
			continue
		}
		switch h.Rrtype {
		case dns.TypeOPT, dns.TypeTSIG, dns.TypeTKEY:
			st.skip(lineErr(Meta, "type %d", h.Rrtype))
			continue
		}
		if h.Rrtype == dns.TypeSOA && bailiwick == "" {
			bailiwick = pdns.CanonicalName(h.Name)
		}
		t := pdns.Tuple{
			RRName:        pdns.CanonicalName(h.Name),
			RRType:        h.Rrtype,
			RData:         pdns.RData(rr),
			Bailiwick:     bailiwick,
			ZoneTimeFirst: o.Time,
			ZoneTimeLast:  o.Time,
			Count:         1,
		}
		if t.Bailiwick == "" {
			t.Bailiwick = pdns.CanonicalName(origin)
		}
		if t.RData == "" {
			t.RData = `\# 0`
		}
		atomic.AddUint64(&st.Tuples, 1)
		if err := sink.Tuple(&t); err != nil {
			return err
		}
	}
	if err := zp.Err(); err != nil {
		st.skip(lineErr(BadRecord, "%v", err))
		return fmt.Errorf("%w: zone file: %v", ErrFormat, err)
	}
	return nil
}

// GuessOrigin derives a zone origin from a file name: "example.com.zone",
// "example.com.db", "db.example.com", "example.com" give "example.com.";
// "root.zone" and names without a dot give the root.
func GuessOrigin(fileName string) string {
	base := filepath.Base(fileName)
	for _, suf := range []string{".gz", ".signed", ".zone", ".db", ".txt"} {
		base = strings.TrimSuffix(base, suf)
	}
	base = strings.TrimPrefix(base, "db.")
	if base == "root" || !strings.Contains(base, ".") {
		return "."
	}
	if _, ok := dns.IsDomainName(base); !ok {
		return "."
	}
	return dns.Fqdn(strings.ToLower(base))
}

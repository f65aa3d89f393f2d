package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func init() { subcommands = append(subcommands, newQueryCmd) }

type queryFlags struct {
	db          string
	rdata       bool
	raw         bool
	rrtype      string
	bailiwick   string
	firstBefore string
	firstAfter  string
	lastBefore  string
	lastAfter   string
	limit       int
	offset      int
	cursor      string
	summarize   bool
	format      string
}

func newQueryCmd(e *env) *cobra.Command {
	var f queryFlags
	cmd := &cobra.Command{
		Use:   "query [flags] QUERY",
		Short: "Look records up in the passive DNS store",
		Long: `query looks tuples up in the passive DNS store. QUERY is
  www.example.com                 the records of one name
  *.example.com                   every name below example.com (left-hand wildcard)
  www.example.*                   every name starting with www.example (right-hand wildcard)
  192.0.2.1 | 192.0.2.0/24 | 192.0.2.0,24 | 192.0.2.1-192.0.2.9 | 2001:db8::/32
                                  A/AAAA records pointing into an address, prefix or range
With --rdata, a name is looked up in rdata instead ("who points here": CNAME,
NS, MX, SRV, PTR, SOA, ... targets); DNSDB's rdata wildcards .example.com and
www.example. work too. With --raw, QUERY is one exact rdata text.

Times (--first-before ... --last-after) are RFC 3339, a date, Unix seconds,
or relative to now: -7d, -12h, -90m, -2w. Records only seen in zone files are
fenced by their zone times. Output stops at --limit; the command then prints
the cursor that continues (--cursor) on stderr.

Formats: cof (COF NDJSON, what DNSDB and CIRCL clients read), saf (DNSDB's
framing: begin, obj lines, succeeded or limited), table, json (one document).`,
		Example: `  dnsscout query www.example.com
  dnsscout query -t A '*.example.com'
  dnsscout query --rdata -t MX mail.example.com
  dnsscout query --last-after -7d --format table 192.0.2.0/24
  dnsscout query --raw '"v=spf1 -all"'
  dnsscout query --summarize 'www.example.*'
  dnsscout query --limit 100 --cursor AXJjb20uZXhhbXBsZQA '*.example.com'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("query: give one QUERY (a name, wildcard, address, prefix or range; see --help)")
			}
			return runQuery(cmd.Context(), e, &f, args[0])
		},
	}
	fl := cmd.Flags()
	addDBFlag(fl, &f.db)
	fl.BoolVar(&f.rdata, "rdata", false, "look the name up in rdata (CNAME/NS/MX/SRV/PTR/... targets)")
	fl.BoolVar(&f.raw, "raw", false, "QUERY is an exact rdata text, e.g. '10 mail.example.com.'")
	fl.StringVarP(&f.rrtype, "type", "t", "ANY", "rrtype: a mnemonic, TYPEn, ANY (all but DNSSEC), ANY-DNSSEC or ALL")
	fl.StringVar(&f.bailiwick, "bailiwick", "", "only records from this bailiwick (name lookups)")
	fl.StringVar(&f.firstBefore, "first-before", "", "only records first seen before TIME")
	fl.StringVar(&f.firstAfter, "first-after", "", "only records first seen after TIME")
	fl.StringVar(&f.lastBefore, "last-before", "", "only records last seen before TIME")
	fl.StringVar(&f.lastAfter, "last-after", "", "only records last seen after TIME")
	fl.IntVar(&f.limit, "limit", 10000, "at most this many records (0 = the store's maximum)")
	fl.IntVar(&f.offset, "offset", 0, "skip this many records first")
	fl.StringVar(&f.cursor, "cursor", "", "continue after a previous, limited query (the cursor it printed)")
	fl.BoolVar(&f.summarize, "summarize", false, "print count, number of records and time range instead of records")
	fl.StringVar(&f.format, "format", "cof", "output format: cof, saf, table or json")
	return cmd
}

func runQuery(ctx context.Context, e *env, f *queryFlags, value string) error {
	switch f.format {
	case "cof", "saf", "table", "json":
	default:
		return usageError("query: --format must be cof, saf, table or json, not %q", f.format)
	}
	if f.rdata && f.raw {
		return usageError("query: --rdata and --raw exclude each other")
	}
	q, err := buildQuery(f, value, time.Now())
	if err != nil {
		return usageError("query: %s", storeMsg(err))
	}
	db, err := openStore(ctx, e, "", f.db, store.Options{ReadOnly: true, MaxLimit: -1})
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer db.Close()
	if f.summarize {
		s, err := store.Summarize(ctx, db, q, 0)
		if err != nil {
			return queryErr(err)
		}
		return writeSummary(e.stdout, f.format, &s)
	}
	out := newTupleWriter(e.stdout, f.format)
	cursor, err := db.Lookup(ctx, q, out.write)
	if err != nil {
		out.fail(err)
		return queryErr(err)
	}
	if err := out.close(cursor); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if cursor != "" {
		fmt.Fprintf(e.stderr, "dnsscout: more records; continue with --cursor %s\n", cursor)
	}
	return nil
}

// queryErr makes a lookup error one line; the caller's mistakes exit 2.
func queryErr(err error) error {
	if errors.Is(err, store.ErrBadQuery) || errors.Is(err, store.ErrBadCursor) {
		return usageError("query: %s", storeMsg(err))
	}
	return fmt.Errorf("query: %w", err)
}

// storeMsg is a store error for people: without the package prefixes.
func storeMsg(err error) string {
	return strings.NewReplacer("store: ", "", "pebble: ", "").Replace(err.Error())
}

// buildQuery turns the flags and QUERY into a store query.
func buildQuery(f *queryFlags, value string, now time.Time) (store.Query, error) {
	var q store.Query
	var err error
	if f.raw {
		if strings.TrimSpace(value) == "" {
			return q, fmt.Errorf("%w: empty rdata", store.ErrBadQuery)
		}
		q = store.Query{Kind: store.KindRDataRaw, RData: value}
	} else if q, err = store.ParseQuery(value, f.rdata); err != nil {
		return q, err
	}
	if q.Type, err = store.ParseTypeFilter(f.rrtype); err != nil {
		return q, err
	}
	if f.bailiwick != "" {
		b, w, err := store.ParseName(f.bailiwick)
		if err != nil {
			return q, fmt.Errorf("--bailiwick: %w", err)
		}
		if w != store.WildNone {
			return q, fmt.Errorf("--bailiwick takes a name, not a wildcard")
		}
		q.Bailiwick = b
	}
	for _, fence := range []struct {
		flag, value string
		dst         *int64
	}{
		{"--first-before", f.firstBefore, &q.FirstBefore},
		{"--first-after", f.firstAfter, &q.FirstAfter},
		{"--last-before", f.lastBefore, &q.LastBefore},
		{"--last-after", f.lastAfter, &q.LastAfter},
	} {
		if fence.value == "" {
			continue
		}
		if *fence.dst, err = store.ParseTime(fence.value, now); err != nil {
			return q, fmt.Errorf("%s: %w", fence.flag, err)
		}
	}
	if f.limit < 0 || f.offset < 0 {
		return q, fmt.Errorf("--limit and --offset must not be negative")
	}
	q.Limit, q.Offset, q.Cursor = f.limit, f.offset, f.cursor
	return q, q.Validate()
}

// tupleWriter renders a stream of tuples in one of the query formats.
type tupleWriter struct {
	format string
	w      *bufio.Writer
	enc    *pdns.Encoder
	tw     *tabwriter.Writer
	n      int
	buf    []byte
	err    error
}

func newTupleWriter(w io.Writer, format string) *tupleWriter {
	t := &tupleWriter{format: format, w: bufio.NewWriterSize(w, 64<<10)}
	switch format {
	case "cof":
		t.enc = pdns.NewEncoder(w, pdns.FormatCOF)
	case "saf":
		t.enc = pdns.NewEncoder(w, pdns.FormatSAF)
	case "table":
		t.tw = tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(t.tw, "RRNAME\tTYPE\tRDATA\tCOUNT\tFIRST SEEN\tLAST SEEN\tBAILIWICK")
	}
	return t
}

func (t *tupleWriter) write(x *pdns.Tuple) error {
	t.n++
	switch t.format {
	case "cof", "saf":
		return t.enc.Encode(x)
	case "table":
		first, last := store.Window(x)
		src := ""
		if x.TimeFirst == 0 && x.TimeLast == 0 && first != 0 {
			src = " (zone)"
		}
		bail := x.Bailiwick
		if bail == "" {
			bail = "-"
		}
		_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", dnsnameOut(x.RRName), pdns.TypeString(x.RRType),
			x.RData, x.Count, fmtTime(first)+src, fmtTime(last)+src, bail)
		return err
	case "json":
		t.buf = t.buf[:0]
		if t.n == 1 {
			t.buf = append(t.buf, `{"results":[`...)
		} else {
			t.buf = append(t.buf, ',')
		}
		t.buf = append(t.buf, "\n  "...)
		t.buf = pdns.AppendCOF(t.buf, x)
		_, err := t.w.Write(t.buf)
		return err
	}
	return nil
}

// close ends the output; cursor is non-empty when the lookup was limited.
func (t *tupleWriter) close(cursor string) error {
	switch t.format {
	case "cof":
		return t.enc.Close()
	case "saf":
		if cursor != "" {
			return t.enc.Limited("result limit reached")
		}
		return t.enc.Close()
	case "table":
		if t.n == 0 {
			return writeFlush(t.w, "no records\n")
		}
		if err := t.tw.Flush(); err != nil {
			return err
		}
	case "json":
		if t.n == 0 {
			t.w.WriteString(`{"results":[`)
		} else {
			t.w.WriteString("\n")
		}
		t.w.WriteString(`],"cursor":`)
		t.w.WriteString(strconv.Quote(cursor))
		t.w.WriteString("}\n")
	}
	return t.w.Flush()
}

// fail ends the output after an error where the format can say so (SAF).
func (t *tupleWriter) fail(err error) {
	switch t.format {
	case "saf":
		t.enc.Fail(storeMsg(err))
	case "cof":
		t.enc.Flush()
	case "table":
		t.tw.Flush()
		t.w.Flush()
	}
}

func writeFlush(w *bufio.Writer, s string) error {
	w.WriteString(s)
	return w.Flush()
}

// writeSummary prints a summarize answer: a DNSDB summarize object (cof,
// json), in SAF framing (saf), or as lines (table).
func writeSummary(w io.Writer, format string, s *store.Summary) error {
	obj := summaryObject(s)
	switch format {
	case "cof", "json":
		_, err := fmt.Fprintf(w, "%s\n", obj)
		return err
	case "saf":
		_, err := fmt.Fprintf(w, "{\"cond\":\"begin\"}\n{\"obj\":%s}\n{\"cond\":\"succeeded\"}\n", obj)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "records\t%d\n", s.NumResults)
	fmt.Fprintf(tw, "count\t%d\n", s.Count)
	if s.TimeFirst != 0 || s.TimeLast != 0 {
		fmt.Fprintf(tw, "first seen\t%s\n", fmtTime(s.TimeFirst))
		fmt.Fprintf(tw, "last seen\t%s\n", fmtTime(s.TimeLast))
	}
	if s.ZoneTimeFirst != 0 || s.ZoneTimeLast != 0 {
		fmt.Fprintf(tw, "first in zone\t%s\n", fmtTime(s.ZoneTimeFirst))
		fmt.Fprintf(tw, "last in zone\t%s\n", fmtTime(s.ZoneTimeLast))
	}
	return tw.Flush()
}

// summaryObject is DNSDB's summarize object: count, num_results and the
// time ranges that exist.
func summaryObject(s *store.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"count":%d,"num_results":%d`, s.Count, s.NumResults)
	if s.TimeFirst != 0 || s.TimeLast != 0 {
		fmt.Fprintf(&b, `,"time_first":%d,"time_last":%d`, s.TimeFirst, s.TimeLast)
	}
	if s.ZoneTimeFirst != 0 || s.ZoneTimeLast != 0 {
		fmt.Fprintf(&b, `,"zone_time_first":%d,"zone_time_last":%d`, s.ZoneTimeFirst, s.ZoneTimeLast)
	}
	b.WriteByte('}')
	return b.String()
}

func fmtTime(t int64) string {
	if t == 0 {
		return "-"
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02T15:04:05Z")
}

// dnsnameOut shows a canonical name with its trailing dot, as DNS tools do.
func dnsnameOut(n string) string {
	if n == "." {
		return n
	}
	return n + "."
}

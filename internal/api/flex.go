package api

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

// Flex search: /dnsdb/v2/{regex|glob}/{rrnames|rdata}/VALUE[/RRTYPE].
// Patterns are matched against owner names with their trailing dot
// ("www.example.com.") or against rdata in presentation form. A regex
// (RE2 syntax, so no pattern can make the server backtrack) matches
// anywhere unless anchored; a glob (* ? [...]) must match the whole
// value. The store keeps no Flex index: a search whose pattern ends in a
// literal label suffix scans that zone, any other one scans the store,
// within Options.FlexTimeout. Results are distinct (value, rrtype) pairs
// with the count and first/last times of the tuples scanned.

// maxPattern bounds a Flex pattern.
const maxPattern = 4096

type flexQuery struct {
	method, key string // regex|glob, rrnames|rdata
	re, exclude *regexp.Regexp
	typ         store.TypeFilter
	// suffix is a canonical name every rrname match lies strictly below,
	// or "" when the pattern does not tell.
	suffix string
}

func (req *dnsdbRequest) parseFlex(segs []string, p url.Values, escPath string) error {
	f := &flexQuery{method: req.verb}
	if len(segs) < 2 {
		return notFound(escPath)
	}
	f.key = strings.ToLower(segs[1])
	if f.key != "rrnames" && f.key != "rdata" {
		return notFound(escPath)
	}
	if len(segs) > 4 {
		return notFound(escPath)
	}
	if len(segs) < 3 || segs[2] == "" {
		return badRequest("%s/%s needs a pattern", f.method, f.key)
	}
	var err error
	if f.re, err = compilePattern(f.method, segs[2]); err != nil {
		return err
	}
	if ex := p.Get("exclude"); ex != "" {
		if f.exclude, err = compilePattern(f.method, ex); err != nil {
			return badRequest("exclude: %v", err)
		}
	}
	if len(segs) > 3 {
		if f.typ, err = store.ParseTypeFilter(segs[3]); err != nil {
			return err
		}
	}
	if f.key == "rrnames" {
		f.suffix = literalSuffix(f.re.String())
	}
	req.flex = f
	return nil
}

// compilePattern compiles a Flex regex, or a glob turned into an anchored
// regex.
func compilePattern(method, pat string) (*regexp.Regexp, error) {
	if len(pat) > maxPattern {
		return nil, badRequest("pattern longer than %d bytes", maxPattern)
	}
	expr := pat
	if method == "glob" {
		var err error
		if expr, err = globToRegexp(pat); err != nil {
			return nil, err
		}
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, badRequest("bad %s: %v", method, err)
	}
	return re, nil
}

// globToRegexp translates a glob: * any run, ? one character, [...] a
// class ([!...] or [^...] negated), backslash escapes the next character.
func globToRegexp(g string) (string, error) {
	if !utf8.ValidString(g) {
		return "", badRequest("bad glob: not UTF-8")
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 == len(g) {
				return "", badRequest("bad glob: trailing backslash")
			}
			i++
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		case '[':
			j := i + 1
			if j < len(g) && (g[j] == '!' || g[j] == '^') {
				j++
			}
			if j < len(g) && g[j] == ']' {
				j++
			}
			for j < len(g) && g[j] != ']' {
				j++
			}
			if j >= len(g) {
				return "", badRequest("bad glob: unterminated [")
			}
			class := g[i+1 : j]
			neg := strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^")
			if neg {
				class = class[1:]
			}
			b.WriteByte('[')
			if neg {
				b.WriteByte('^')
			}
			for k := 0; k < len(class); k++ {
				if class[k] == '\\' || class[k] == '[' || (class[k] == ']' && k > 0) {
					b.WriteByte('\\')
				}
				b.WriteByte(class[k])
			}
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	b.WriteString("$")
	// A class the glob allows can still be one regexp refuses ("[z-a]").
	if _, err := regexp.Compile(b.String()); err != nil {
		return "", badRequest("bad glob: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return b.String(), nil
}

// literalSuffix returns the name that every rrname a regex can match lies
// strictly below, when the regex ends with a literal that ends with a dot
// and is anchored at the end; else "".
func literalSuffix(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return ""
	}
	subs := re.Sub
	if last := subs[len(subs)-1]; last.Op != syntax.OpEndText {
		return ""
	}
	var lit []rune
	for i := len(subs) - 2; i >= 0; i-- {
		s := subs[i]
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			break
		}
		lit = append(append([]rune(nil), s.Rune...), lit...)
	}
	l := string(lit)
	if !strings.HasSuffix(l, ".") {
		return ""
	}
	l = l[:len(l)-1]
	var suffix string
	if rest, ok := strings.CutPrefix(l, "."); ok {
		suffix = rest
	} else if i := strings.IndexByte(l, '.'); i >= 0 {
		suffix = l[i+1:]
	}
	if suffix == "" || store.CheckName(suffix) != nil || suffix != strings.ToLower(suffix) || strings.ContainsRune(suffix, '\\') {
		return ""
	}
	return suffix
}

type flexKey struct {
	value string
	typ   uint16
}

// serveFlex runs a Flex search and streams its results.
func (s *Server) serveFlex(w http.ResponseWriter, r *http.Request, req *dnsdbRequest, limit int) {
	f := req.flex
	ctx, cancel := context.WithTimeout(r.Context(), s.opt.FlexTimeout)
	defer cancel()
	q := store.Query{Kind: store.KindRRSet, Type: f.typ,
		FirstBefore: req.fences[0], FirstAfter: req.fences[1], LastBefore: req.fences[2], LastAfter: req.fences[3]}
	want := req.offset + limit
	var (
		order   []flexKey
		groups  = map[flexKey]*store.Summary{}
		more    bool
		lastKey string
		lastOK  bool
	)
	visit := func(t *pdns.Tuple) error {
		if !q.MatchFilters(t) {
			return nil
		}
		v := t.RData
		if f.key == "rrnames" {
			v = fqdn(t.RRName)
		}
		if v != lastKey {
			lastKey = v
			lastOK = f.re.MatchString(v) && (f.exclude == nil || !f.exclude.MatchString(v))
		}
		if !lastOK {
			return nil
		}
		k := flexKey{v, t.RRType}
		g := groups[k]
		if g == nil {
			if len(order) == want {
				more = true
				return errStop
			}
			g = &store.Summary{}
			groups[k] = g
			order = append(order, k)
		}
		g.Add(t)
		return nil
	}
	var err error
	if f.suffix != "" {
		q.Name, q.Wildcard = f.suffix, store.WildLeft
		for {
			var cur string
			cur, err = s.st.Lookup(ctx, q, visit)
			if err != nil || cur == "" {
				break
			}
			q.Cursor = cur
		}
	} else {
		err = store.Export(ctx, s.st, visit)
	}
	timedOut := false
	switch {
	case errors.Is(err, errStop):
		err = nil
	case err != nil && clientGone(w, r):
		return
	case err != nil && ctx.Err() != nil:
		err, timedOut = nil, true
	}
	if err != nil {
		s.writeError(w, r, flavorDNSDB, err)
		return
	}
	sw := &safWriter{w: w}
	var b []byte
	for i, k := range order {
		if i < req.offset {
			continue
		}
		b = appendFlex(b[:0], f.key, k, groups[k], req.humantime)
		if sw.raw(b) != nil {
			return
		}
	}
	s.met.results.WithLabelValues("flex").Add(float64(sw.n))
	switch {
	case timedOut:
		sw.end("limited", "search time budget exhausted: anchor the pattern on a zone (e.g. \\.example\\.com\\.$) or add fences")
	case more:
		sw.end("limited", "result limit reached")
	default:
		sw.end("succeeded", "")
	}
}

// appendFlex renders one Flex result.
func appendFlex(b []byte, key string, k flexKey, g *store.Summary, human bool) []byte {
	if key == "rrnames" {
		b = append(b, `{"rrname":`...)
		b = appendJSONString(b, k.value)
	} else {
		b = append(b, `{"rdata":`...)
		b = appendJSONString(b, k.value)
		if raw, ok := rawRData(k.typ, k.value); ok {
			b = append(b, `,"raw_rdata":"`...)
			b = append(b, raw...)
			b = append(b, '"')
		}
	}
	b = append(b, `,"rrtype":`...)
	b = appendJSONString(b, typeName(k.typ))
	b = append(b, ',')
	sum := appendSummary(nil, g, human)
	// Reuse the summary's fields without its braces and num_results.
	sum = sum[1 : len(sum)-1]
	if i := strings.Index(string(sum), `,"num_results":`); i >= 0 {
		j := i + len(`,"num_results":`)
		for j < len(sum) && sum[j] >= '0' && sum[j] <= '9' {
			j++
		}
		sum = append(sum[:i:i], sum[j:]...)
	}
	b = append(b, sum...)
	return append(b, '}')
}

// rawRData is the upper-case hex of rdata's wire form.
func rawRData(t uint16, rdata string) (string, bool) {
	rr, err := dns.NewRR(". 0 IN " + pdns.TypeString(t) + " " + rdata)
	if err != nil || rr == nil {
		return "", false
	}
	buf := make([]byte, 65536+512)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil || off < 11 {
		return "", false
	}
	return strings.ToUpper(hex.EncodeToString(buf[11:off])), true
}

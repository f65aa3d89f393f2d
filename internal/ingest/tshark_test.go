package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/dnsscout/dnsscout/internal/pdns"
)

// TestAgainstTshark ingests real captures and compares what is stored with
// what tshark, an independent decoder, finds in the same responses under
// the bailiwick rule (re-implemented here on tshark's fields): the set of
// (rrname, rrtype, rdata), and each tuple's count, first and last time.
// Types whose rdata this test does not rebuild from tshark's fields are
// compared by (rrname, rrtype) only. More captures can be given in
// DNSSCOUT_TSHARK_FILES (comma-separated paths):
//
//	DNSSCOUT_TSHARK_FILES=/tmp/a.pcap go test ./internal/ingest -run TestAgainstTshark
func TestAgainstTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("DNSSCOUT_REAL_SERVERS") == "require" {
			t.Fatal("internal/ingest: tshark is required (apt-get install tshark)")
		}
		t.Skip("tshark not installed")
	}
	files, _ := filepath.Glob(filepath.Join("pcap", "testdata", "*.pcap*"))
	if len(files) < 20 {
		t.Fatalf("only %d captures in pcap/testdata", len(files))
	}
	if extra := os.Getenv("DNSSCOUT_TSHARK_FILES"); extra != "" {
		files = append(files, strings.Split(extra, ",")...)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			compareWithTshark(t, tshark, file, Options{SensorID: "t"}, nil)
		})
	}
}

// compareWithTshark ingests file with o and compares the stored tuples
// with tshark's decoding of the responses sent from ports (default 53,
// 5353, 5355), tsharkArgs added to its command line: the set of tuples,
// their counts and times, and their sensor ids (o.SensorID for DNS, with
// /mdns and /llmnr for those).
func compareWithTshark(t *testing.T, tshark, file string, o Options, ports []uint16, tsharkArgs ...string) {
	t.Helper()
	if len(ports) == 0 {
		ports = []uint16{53, 5353, 5355}
	}
	var filter []string
	for _, p := range ports {
		filter = append(filter, fmt.Sprintf("udp.srcport==%d || tcp.srcport==%d", p, p))
	}
	tsharkArgs = append([]string{"-Y", "(" + strings.Join(filter, " || ") + ") && dns.flags.response==1"}, tsharkArgs...)
	want, wantTimes, wantSensors := tsharkExpect(t, tshark, file, o.SensorID, tsharkArgs...)
	m, _ := ingestFiles(t, o, file)
	got := map[string]*pdns.Tuple{}
	for _, tp := range m.tuples {
		k := tp.RRName + " " + pdns.TypeString(tp.RRType) + " "
		if fullRData(tp.RRType) {
			k += tp.RData
		} else {
			k += "*"
		}
		got[k] = tp
	}
	var missing, extra []string
	for k := range want {
		if got[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if want[k] == 0 {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("differences with tshark:\n missing: %s\n extra:   %s", strings.Join(missing, "\n          "), strings.Join(extra, "\n          "))
	}
	for k, n := range want {
		tp := got[k]
		if tp == nil {
			continue
		}
		if ws := slices.Sorted(maps.Keys(wantSensors[k])); !slices.Equal(tp.SensorIDs, ws) {
			t.Errorf("%s: sensors %q, want %q", k, tp.SensorIDs, ws)
		}
		if strings.HasSuffix(k, " *") {
			continue
		}
		w := wantTimes[k]
		if tp.Count != uint64(n) || tp.TimeFirst != w[0] || tp.TimeLast != w[1] {
			t.Errorf("%s: count %d first %d last %d; tshark %d %d %d", k, tp.Count, tp.TimeFirst, tp.TimeLast, n, w[0], w[1])
		}
	}
	if len(want) == 0 && len(got) == 0 {
		t.Logf("no records in %s", file)
	}
}

// fullRData lists the types whose rdata the test rebuilds from tshark.
func fullRData(t uint16) bool {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeCNAME, dns.TypePTR, dns.TypeDNAME,
		dns.TypeMX, dns.TypeTXT, dns.TypeSOA, dns.TypeSRV:
		return true
	}
	return false
}

type tsRecord struct {
	section int
	name    string // canonical
	typ     uint16
	class   uint16
	f       map[string]any
}

// tsharkLayers are the layers of DNS messages in tshark's decoding, with
// the sensor id suffix their records get.
var tsharkLayers = []struct{ layer, suffix string }{{"dns", ""}, {"mdns", "/mdns"}, {"llmnr", "/llmnr"}}

// tsharkExpect returns, per tuple key, the number of responses with the
// record, its first and last second and the sensor ids it is seen under.
func tsharkExpect(t *testing.T, tshark, file, sensor string, args ...string) (map[string]int, map[string][2]int64, map[string]map[string]bool) {
	t.Helper()
	args = append([]string{"-n", "-r", file, "-T", "json", "--no-duplicate-keys"}, args...)
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string]json.RawMessage `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark json: %v", err)
	}
	counts := map[string]int{}
	times := map[string][2]int64{}
	sensors := map[string]map[string]bool{}
	for _, p := range pkts {
		var frame map[string]any
		json.Unmarshal(p.Source.Layers["frame"], &frame)
		ts, _ := strconv.ParseFloat(str(frame["frame.time_epoch"]), 64)
		sec := int64(math.Floor(ts))
		for _, l := range tsharkLayers {
			// A malformed packet still counts with the records tshark
			// decoded before the damage: the walker keeps those too.
			raw := p.Source.Layers[l.layer]
			if len(raw) == 0 {
				continue
			}
			var msgs []map[string]any
			if raw[0] == '[' {
				json.Unmarshal(raw, &msgs)
			} else {
				var one map[string]any
				json.Unmarshal(raw, &one)
				msgs = append(msgs, one)
			}
			for _, msg := range msgs {
				seen := map[string]bool{}
				for _, k := range tsharkKeep(msg) {
					if seen[k] {
						continue
					}
					seen[k] = true
					counts[k]++
					w, ok := times[k]
					if !ok {
						w = [2]int64{sec, sec}
					}
					w[0], w[1] = min(w[0], sec), max(w[1], sec)
					times[k] = w
					if sensors[k] == nil {
						sensors[k] = map[string]bool{}
					}
					sensors[k][sensor+l.suffix] = true
				}
			}
		}
	}
	return counts, times, sensors
}

// tsharkKeep applies the bailiwick rule to one decoded message and returns
// the keys of the records kept.
func tsharkKeep(msg map[string]any) []string {
	flags, _ := msg["dns.flags_tree"].(map[string]any)
	if str(flags["dns.flags.rcode"]) != "0" || str(flags["dns.flags.opcode"]) != "0" {
		return nil
	}
	aa := str(flags["dns.flags.authoritative"]) == "1"
	var qname string
	if qs, ok := msg["Queries"].(map[string]any); ok {
		for _, q := range objects(qs) {
			qname = canon(str(q["dns.qry.name"]))
			break
		}
	}
	var recs []tsRecord
	for sec, title := range []string{"Answers", "Authoritative nameservers", "Additional records"} {
		group, _ := msg[title].(map[string]any)
		for _, r := range objects(group) {
			typ, _ := strconv.Atoi(str(r["dns.resp.type"]))
			class, _ := strconv.ParseUint(strings.TrimPrefix(str(r["dns.resp.class"]), "0x"), 16, 16)
			name := str(r["dns.resp.name"])
			if name == "" && r["dns.srv.service"] != nil {
				// tshark 4.0 splits an SRV owner instead of naming it.
				name = str(r["dns.srv.service"]) + "." + str(r["dns.srv.proto"]) + "." + str(r["dns.srv.name"])
			}
			recs = append(recs, tsRecord{section: sec + 1, name: canon(name), typ: uint16(typ), class: uint16(class), f: r})
		}
	}
	// The CNAME chain from the query name.
	var chain []string
	if qname != "" {
		chain = append(chain, qname)
		for cur := qname; len(chain) < 17; {
			next := ""
			for _, r := range recs {
				if r.section == 1 && r.typ == dns.TypeCNAME && r.name == cur {
					next = canon(str(r.f["dns.cname"]))
					break
				}
			}
			if next == "" {
				break
			}
			chain = append(chain, next)
			cur = next
		}
	}
	under := func(name, zone string) bool {
		return zone == "." || name == zone || strings.HasSuffix(name, "."+zone)
	}
	above := func(z string) bool {
		for _, n := range chain {
			if under(n, z) {
				return true
			}
		}
		return false
	}
	zone, answers := "", 0
	for _, r := range recs {
		if r.section == 1 {
			answers++
		}
	}
	for _, r := range recs {
		if r.section == 2 && r.typ == dns.TypeSOA && r.class == 1 && above(r.name) {
			zone = r.name
			break
		}
	}
	if zone == "" {
		best := ""
		for _, r := range recs {
			if r.section == 2 && r.typ == dns.TypeNS && r.class == 1 && above(r.name) && (best == "" || len(r.name) > len(best)) {
				best = r.name
			}
		}
		switch {
		case best == "":
		case answers == 0 && !aa:
			if best != "." {
				zone = parentName(best)
			}
		default:
			zone = best
		}
	}
	var keys []string
	for _, r := range recs {
		if r.class != 1 || r.typ == dns.TypeOPT || r.typ == dns.TypeTSIG || r.typ == dns.TypeTKEY {
			continue
		}
		if r.section != 1 && (zone == "" || !under(r.name, zone)) {
			continue
		}
		keys = append(keys, r.name+" "+pdns.TypeString(r.typ)+" "+tsharkRData(r))
	}
	return keys
}

// tsharkRData rebuilds master-file rdata from tshark's fields, or "*".
func tsharkRData(r tsRecord) string {
	f := func(k string) string { return str(r.f[k]) }
	n := func(k string) string { return dns.Fqdn(canon(f(k))) }
	switch r.typ {
	case dns.TypeA:
		return f("dns.a")
	case dns.TypeAAAA:
		a, err := netip.ParseAddr(f("dns.aaaa"))
		if err != nil {
			return "bad " + f("dns.aaaa")
		}
		return a.String()
	case dns.TypeNS:
		return n("dns.ns")
	case dns.TypeCNAME:
		return n("dns.cname")
	case dns.TypePTR:
		return n("dns.ptr.domain_name")
	case dns.TypeDNAME:
		return n("dns.dname")
	case dns.TypeMX:
		return f("dns.mx.preference") + " " + n("dns.mx.mail_exchange")
	case dns.TypeSRV:
		return f("dns.srv.priority") + " " + f("dns.srv.weight") + " " + f("dns.srv.port") + " " + n("dns.srv.target")
	case dns.TypeSOA:
		return strings.Join([]string{n("dns.soa.mname"), n("dns.soa.rname"), f("dns.soa.serial_number"),
			f("dns.soa.refresh_interval"), f("dns.soa.retry_interval"), f("dns.soa.expire_limit"), f("dns.soa.minimum_ttl")}, " ")
	case dns.TypeTXT:
		var parts []string
		for _, s := range strs(r.f["dns.txt"]) {
			parts = append(parts, quoteTXT(s))
		}
		return strings.Join(parts, " ")
	}
	return "*"
}

// quoteTXT renders a character-string the way master files do: quoted,
// with '"' and '\' escaped and bytes outside printable ASCII as \DDD.
func quoteTXT(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func canon(s string) string {
	if s == "<Root>" || s == "" {
		return "."
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func parentName(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return "."
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		if len(x) > 0 {
			return str(x[0])
		}
	}
	return ""
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}

// objects returns the record objects of a section, in any order; a key
// that tshark saw twice holds an array of objects.
func objects(group map[string]any) []map[string]any {
	var out []map[string]any
	keys := make([]string, 0, len(group))
	for k := range group {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch v := group[k].(type) {
		case map[string]any:
			out = append(out, v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
)

func (e *env) post(path string, hdr map[string]string, body []byte) (int, IngestResult, string) {
	e.t.Helper()
	code, _, b := e.do(http.MethodPost, path, hdr, bytes.NewReader(body))
	var res IngestResult
	if code == 200 {
		if err := json.Unmarshal([]byte(b), &res); err != nil {
			e.t.Fatalf("answer %q: %v", b, err)
		}
	}
	return code, res, b
}

func (e *env) tuple(name string, t uint16, rdata string) (pdns.Tuple, bool) {
	e.t.Helper()
	got := e.lookup(store.Query{Kind: store.KindRRSet, Name: name, Type: store.OneType(t)})
	for _, x := range got {
		if x.RData == rdata {
			return x, true
		}
	}
	return pdns.Tuple{}, false
}

func TestIngestEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	sensor := e.addKey(keys.Spec{Name: "sensor-1", Perms: []keys.Permission{keys.PermIngest}})
	reader := e.addKey(keys.Spec{Name: "reader"})
	body := []byte(`{"rrname":"New.Example.com.","rrtype":"A","rdata":"192.0.2.200","time_first":1700000000,"time_last":1700000100,"count":2}
{"rrname":"new.example.com","rrtype":"MX","rdata":["10 MAIL.example.com."],"time_first":1700000000,"time_last":1700000000}
not json
{"rrname":"x.example.com","rrtype":"NOPE","rdata":"1"}

{"cond":"begin"}
{"obj":{"rrname":"saf.example.com.","rrtype":"TXT","rdata":["\"hi\""],"time_first":1700000001,"time_last":1700000002,"count":1}}
{"cond":"succeeded"}
`)
	h := map[string]string{"X-API-Key": sensor, "Content-Type": "application/x-ndjson"}
	code, res, raw := e.post("/api/v1/ingest", h, body)
	if code != 200 || res.Accepted != 3 || res.Rejected != 2 || len(res.Errors) != 2 {
		t.Fatalf("ingest: %d %+v %s", code, res, raw)
	}
	a, ok := e.tuple("new.example.com", 1, "192.0.2.200")
	if !ok || a.Count != 2 || a.TimeLast != 1700000100 || len(a.SensorIDs) != 1 || a.SensorIDs[0] != "sensor-1" {
		t.Fatalf("stored A tuple: %+v %v", a, ok)
	}
	if _, ok := e.tuple("new.example.com", 15, "10 mail.example.com."); !ok {
		t.Fatal("MX rdata was not brought to canonical form")
	}
	if _, ok := e.tuple("saf.example.com", 16, `"hi"`); !ok {
		t.Fatal("SAF-framed line not ingested")
	}

	// gzip and idempotency: the same batch twice is applied once.
	gz := gzipBytes(t, []byte(`{"rrname":"gz.example.com","rrtype":"A","rdata":["192.0.2.201"],"time_first":1700000000,"time_last":1700000000,"count":5}`+"\n"))
	hz := map[string]string{"X-API-Key": sensor, "Content-Encoding": "gzip", "Idempotency-Key": "batch-0001"}
	for i := range 2 {
		code, res, raw := e.post("/api/v1/ingest", hz, gz)
		if code != 200 || res.Duplicate != (i == 1) {
			t.Fatalf("gzip batch %d: %d %+v %s", i, code, res, raw)
		}
	}
	if x, ok := e.tuple("gz.example.com", 1, "192.0.2.201"); !ok || x.Count != 5 {
		t.Fatalf("idempotent batch stored with count %d (%v), want 5", x.Count, ok)
	}
	// gzip bytes without the header are recognised too.
	if code, res, _ := e.post("/api/v1/ingest", map[string]string{"X-API-Key": sensor}, gz); code != 200 || res.Accepted != 1 {
		t.Fatalf("sniffed gzip: %d %+v", code, res)
	}

	for _, tc := range []struct {
		name string
		hdr  map[string]string
		body []byte
		code int
	}{
		{"no key", nil, body, 401},
		{"query key", map[string]string{"X-API-Key": reader}, body, 403},
		{"garbage only", map[string]string{"X-API-Key": sensor}, []byte("garbage\nmore garbage\n"), 400},
		{"bad gzip", map[string]string{"X-API-Key": sensor, "Content-Encoding": "gzip"}, []byte("plain"), 400},
		{"truncated gzip", map[string]string{"X-API-Key": sensor}, gz[:len(gz)-6], 400},
		{"unknown encoding", map[string]string{"X-API-Key": sensor, "Content-Encoding": "br"}, body, 415},
		{"content type", map[string]string{"X-API-Key": sensor, "Content-Type": "text/html"}, body, 415},
		{"bad idempotency key", map[string]string{"X-API-Key": sensor, "Idempotency-Key": "a b"}, body, 400},
		{"long line", map[string]string{"X-API-Key": sensor}, []byte(`{"rrname":"` + strings.Repeat("a", 5<<20) + `"}`), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, raw := e.post("/api/v1/ingest", tc.hdr, tc.body); code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, raw)
			}
		})
	}
	if code, _, _ := e.get("/api/v1/ingest", map[string]string{"X-API-Key": sensor}); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET ingest: %d", code)
	}
}

func TestIngestNXDomainEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	sensor := e.addKey(keys.Spec{Name: "sensor-nx", Perms: []keys.Permission{keys.PermIngest}})
	reader := e.addKey(keys.Spec{Name: "reader"})
	nx := func(name string) store.NXCount {
		t.Helper()
		q, err := store.ParseQuery(name, false)
		if err != nil {
			t.Fatal(err)
		}
		var c store.NXCount
		if _, err := e.db.LookupNXDomain(t.Context(), q, func(x *store.NXCount) error { c = *x; return nil }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	body := []byte(`{"rrname":"Gone.Example.com.","count":3,"time_first":1700000000,"time_last":1700000100}
{"rrname":"gone.example.com","count":2,"time_first":1699999000,"time_last":1700000000}
not json

{"rrname":"bad..example.com","count":1,"time_last":1}
{"rrname":"zero.example.com","count":0,"time_last":1}
`)
	h := map[string]string{"X-API-Key": sensor, "Content-Type": "application/x-ndjson"}
	code, res, raw := e.post("/api/v1/ingest/nxdomain", h, body)
	if code != 200 || res.Accepted != 2 || res.Rejected != 3 || len(res.Errors) != 3 {
		t.Fatalf("ingest: %d %+v %s", code, res, raw)
	}
	want := store.NXCount{Name: "gone.example.com", Count: 5, TimeFirst: 1699999000, TimeLast: 1700000100}
	if got := nx("gone.example.com"); got != want {
		t.Fatalf("stored counter %+v, want %+v", got, want)
	}

	gz := gzipBytes(t, []byte(`{"rrname":"gz.example.com","count":4,"time_first":1700000000,"time_last":1700000000}`+"\n"))
	hz := map[string]string{"X-API-Key": sensor, "Content-Encoding": "gzip", "Idempotency-Key": "nx-0001"}
	for i := range 2 {
		code, res, raw := e.post("/api/v1/ingest/nxdomain", hz, gz)
		if code != 200 || res.Duplicate != (i == 1) {
			t.Fatalf("gzip batch %d: %d %+v %s", i, code, res, raw)
		}
	}
	if got := nx("gz.example.com"); got.Count != 4 {
		t.Fatalf("idempotent batch stored with count %d, want 4", got.Count)
	}

	for _, tc := range []struct {
		name string
		hdr  map[string]string
		body []byte
		code int
	}{
		{"no key", nil, body, 401},
		{"query key", map[string]string{"X-API-Key": reader}, body, 403},
		{"garbage only", map[string]string{"X-API-Key": sensor}, []byte("garbage\n{}\n"), 400},
		{"truncated gzip", map[string]string{"X-API-Key": sensor}, gz[:len(gz)-6], 400},
		{"content type", map[string]string{"X-API-Key": sensor, "Content-Type": "text/html"}, body, 415},
		{"long line", map[string]string{"X-API-Key": sensor}, []byte(`{"rrname":"` + strings.Repeat("a", 1<<20) + `"}`), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, raw := e.post("/api/v1/ingest/nxdomain", tc.hdr, tc.body); code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, raw)
			}
		})
	}
}

func TestIngestSizeCap(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxIngestBytes = 1 << 12 })
	line := `{"rrname":"cap.example.com","rrtype":"A","rdata":"192.0.2.9","time_first":1700000000,"time_last":1700000000}` + "\n"
	big := []byte(strings.Repeat(line, 100))
	if code, _, raw := e.post("/api/v1/ingest", nil, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("plain body over the cap: %d %s", code, raw)
	}
	// A small gzip body that inflates past the cap (a gzip bomb).
	if code, _, raw := e.post("/api/v1/ingest", map[string]string{"Content-Encoding": "gzip"}, gzipBytes(t, big)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("gzip body inflating over the cap: %d %s", code, raw)
	}
}

// TestIngestConcurrentRetries: the same batch sent several times at once
// is applied once.
func TestIngestConcurrentRetries(t *testing.T) {
	e := newEnv(t, nil)
	body := []byte(`{"rrname":"race.example.com","rrtype":"A","rdata":"192.0.2.77","time_first":1700000000,"time_last":1700000000,"count":1}` + "\n")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			e.post("/api/v1/ingest", map[string]string{"Idempotency-Key": "same-batch"}, body)
		})
	}
	wg.Wait()
	if x, ok := e.tuple("race.example.com", 1, "192.0.2.77"); !ok || x.Count != 1 {
		t.Fatalf("count after 8 concurrent sends of one batch: %d", x.Count)
	}
}

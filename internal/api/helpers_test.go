package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsscout/dnsscout/internal/keys"
	"github.com/dnsscout/dnsscout/internal/pdns"
	"github.com/dnsscout/dnsscout/internal/store"
	"github.com/dnsscout/dnsscout/internal/store/pebble"
	"github.com/dnsscout/dnsscout/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testNow is the clock of the test servers: after every fixture time.
var testNow = time.Unix(storetest.T0+10_000, 0)

// env is a running test server over a store holding the conformance
// fixture.
type env struct {
	t    *testing.T
	db   *pebble.DB
	keys *keys.Manager
	srv  *Server
	hs   *httptest.Server
	url  string
	// seen counts the requests per path.
	seen sync.Map
}

// hits is the number of requests the server got for path.
func (e *env) hits(path string) int64 {
	v, ok := e.seen.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// fixtureDB opens a store holding the conformance fixture, closed with
// the test.
func fixtureDB(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir(), pebble.Options{NoSync: true, MaxLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Upsert(context.Background(), storetest.Fixture()); err != nil {
		t.Fatal(err)
	}
	return db
}

// newEnv starts a server on a loopback port. mod may change the options
// before New.
func newEnv(t *testing.T, mod func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	db := fixtureDB(t)
	seedHistory(t, db)
	km, err := keys.Open(ctx, db, keys.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Store: db, Keys: km, Now: func() time.Time { return testNow }, Version: "test"}
	if mod != nil {
		mod(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, keys: km, srv: srv}
	h := srv.Handler()
	e.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := e.seen.LoadOrStore(r.URL.Path, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.hs.Close)
	e.url = e.hs.URL
	return e
}

// addKey creates a key and returns its token.
func (e *env) addKey(spec keys.Spec) string {
	e.t.Helper()
	if len(spec.Perms) == 0 {
		spec.Perms = []keys.Permission{keys.PermQuery}
	}
	tok, _, err := e.keys.Add(context.Background(), spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// get sends a GET with the given headers and returns status, headers and
// body.
func (e *env) get(path string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	return e.do(http.MethodGet, path, hdr, nil)
}

func (e *env) do(method, path string, hdr map[string]string, body io.Reader) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

// rawStatus sends one request line over a raw connection (for what HTTP
// libraries refuse to send) and returns the status code.
func (e *env) rawStatus(requestLine string) int {
	e.t.Helper()
	c, err := net.Dial("tcp", e.hs.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, requestLine+"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"); err != nil {
		e.t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// lookup runs q on the store directly: the oracle the API must agree with.
func (e *env) lookup(q store.Query) []pdns.Tuple {
	e.t.Helper()
	var out []pdns.Tuple
	if _, err := e.db.Lookup(context.Background(), q, func(t *pdns.Tuple) error {
		out = append(out, *t)
		return nil
	}); err != nil {
		e.t.Fatalf("store lookup %+v: %v", q, err)
	}
	return out
}

// safAnswer is a parsed SAF stream.
type safAnswer struct {
	objs []map[string]any
	cond string
	msg  string
}

func parseSAF(t *testing.T, body string) safAnswer {
	t.Helper()
	var a safAnswer
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<24)
	first := true
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("SAF line %q: %v", sc.Text(), err)
		}
		if first {
			if line["cond"] != "begin" {
				t.Fatalf("SAF stream does not begin with begin: %q", sc.Text())
			}
			first = false
			continue
		}
		if a.cond != "" {
			t.Fatalf("line after the terminator: %q", sc.Text())
		}
		if c, ok := line["cond"].(string); ok {
			a.cond = c
			a.msg, _ = line["msg"].(string)
			continue
		}
		obj, ok := line["obj"].(map[string]any)
		if !ok {
			t.Fatalf("SAF line is neither cond nor obj: %q", sc.Text())
		}
		a.objs = append(a.objs, obj)
	}
	if a.cond == "" {
		t.Fatalf("SAF stream without terminator:\n%s", body)
	}
	return a
}

// keyOf identifies an answer object like a tuple: canonical rrname,
// rrtype mnemonic, rdata.
type tupleKey struct{ name, typ, rdata string }

func objKey(t *testing.T, o map[string]any) tupleKey {
	t.Helper()
	name, _ := o["rrname"].(string)
	typ, _ := o["rrtype"].(string)
	rd, ok := o["rdata"].([]any)
	if !ok || len(rd) != 1 {
		t.Fatalf("object %v: rdata is not a one-element array", o)
	}
	s, _ := rd[0].(string)
	return tupleKey{pdns.CanonicalName(name), typ, s}
}

func tupleKeys(ts []pdns.Tuple) []tupleKey {
	var out []tupleKey
	for _, t := range ts {
		out = append(out, tupleKey{t.RRName, pdns.TypeString(t.RRType), t.RData})
	}
	return out
}

// parseCOF reads a COF NDJSON body into keys.
func parseCOFKeys(t *testing.T, body string) []tupleKey {
	t.Helper()
	var out []tupleKey
	dec := pdns.NewDecoder(strings.NewReader(body))
	var ts []pdns.Tuple
	for {
		var err error
		ts, err = dec.Decode(ts[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("COF body: %v\n%s", err, body)
		}
		out = append(out, tupleKeys(ts)...)
	}
	return out
}

func sortedKeys(k []tupleKey) []tupleKey {
	k = slices.Clone(k)
	slices.SortFunc(k, func(a, b tupleKey) int {
		return strings.Compare(a.name+"\x00"+a.typ+"\x00"+a.rdata, b.name+"\x00"+b.typ+"\x00"+b.rdata)
	})
	return k
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

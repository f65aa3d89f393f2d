package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const openAPIGolden = "testdata/openapi.golden.json"

// TestOpenAPIGolden keeps /openapi.json in testdata; run
// go test ./internal/api -run OpenAPI -update after changing apiRoutes.
func TestOpenAPIGolden(t *testing.T) {
	e := newEnv(t, nil)
	code, h, body := e.get("/openapi.json", nil)
	if code != 200 || h.Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi.json: %d %s", code, h.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/openapi.json is not JSON: %v", err)
	}
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi version %v", doc["openapi"])
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(openAPIGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(openAPIGolden, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(openAPIGolden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -run OpenAPIGolden -update)", err)
	}
	if !bytes.Equal(want, []byte(body)) {
		t.Fatalf("/openapi.json differs from %s; if the change is intended, run go test ./internal/api -run OpenAPIGolden -update", openAPIGolden)
	}
}

// TestOpenAPIRoutesAnswer sends a request to every documented path,
// filled with its parameters' examples, and checks that the server routes
// it (no 404 or 405), and that the document names every operation once.
func TestOpenAPIRoutesAnswer(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Watch = &managedWatch{} })
	ids := map[string]bool{}
	for _, r := range apiRoutes {
		if ids[r.id] {
			t.Errorf("operation id %q twice", r.id)
		}
		ids[r.id] = true
		path := r.path
		for _, p := range r.params {
			if p.in == "path" {
				if p.example == "" {
					t.Fatalf("%s: path parameter %s without an example", r.path, p.name)
				}
				path = strings.ReplaceAll(path, "{"+p.name+"}", p.example)
			}
			if p.in == "query" && p.example != "" {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				path += sep + p.name + "=" + p.example
			}
		}
		if strings.Contains(path, "{") {
			t.Fatalf("%s: unfilled parameter in %s", r.path, path)
		}
		var body *bytes.Reader
		hdr := map[string]string{}
		if r.reqType != "" {
			hdr["Content-Type"] = r.reqType
			switch r.reqSchema {
			case "COF":
				body = bytes.NewReader([]byte(`{"rrname":"doc.example.com","rrtype":"A","rdata":"192.0.2.3","time_first":1700000000,"time_last":1700000000}` + "\n"))
			case "NXCount":
				body = bytes.NewReader([]byte(`{"rrname":"nothere.example.com","count":2,"time_first":1700000000,"time_last":1700000100}` + "\n"))
			default:
				body = bytes.NewReader([]byte(`{"domain":"example.com"}`))
			}
		}
		method := strings.ToUpper(r.method)
		var code int
		if body != nil {
			code, _, _ = e.do(method, path, hdr, body)
		} else {
			code, _, _ = e.do(method, path, hdr, nil)
		}
		wantOK := r.auth != "capability" && r.id != "recon"
		switch {
		case code == http.StatusMethodNotAllowed:
			t.Errorf("%s %s: 405", method, path)
		case code == http.StatusNotFound && wantOK:
			t.Errorf("%s %s: 404, the document names a path the server does not route", method, path)
		case wantOK && code != 200:
			t.Errorf("%s %s: %d", method, path, code)
		}
	}
	// Operations the server answers that the document must name.
	for _, id := range []string{"rrsetName", "rdataIP", "flex", "ping", "rateLimit", "circlQuery", "ingest", "ingest_nxdomain", "search", "info", "recon", "healthz", "metrics", "openapi", "ui", "domains", "scans", "scan", "scanDiff", "findings", "events"} {
		if !ids[id] {
			t.Errorf("operation %s is not documented", id)
		}
	}
	var list []string
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	t.Logf("%d operations: %s", len(list), strings.Join(list, " "))
}

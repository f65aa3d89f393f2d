package api

import (
	"strings"
	"testing"

	"github.com/dnsscout/dnsscout/internal/keys"
)

// TestIngestValidatesTuples: the ingest API applies the rule every source
// of tuples follows (store.CheckTuple): rdata that does not match its type
// is rejected with its line number, the good lines of the body are kept.
func TestIngestValidatesTuples(t *testing.T) {
	e := newEnv(t, nil)
	sensor := e.addKey(keys.Spec{Name: "sensor-1", Perms: []keys.Permission{keys.PermIngest}})
	body := []byte(`{"rrname":"ok.example.com","rrtype":"A","rdata":"192.0.2.1","time_first":1700000000,"time_last":1700000000}
{"rrname":"bad.example.com","rrtype":"A","rdata":"999.1.1.1","time_first":1700000000,"time_last":1700000000}
{"rrname":"mx.example.com","rrtype":"MX","rdata":"mail.example.com.","time_first":1700000000,"time_last":1700000000}
{"rrname":"` + strings.Repeat("a", 64) + `.example.com","rrtype":"A","rdata":"192.0.2.2","time_first":1700000000,"time_last":1700000000}
`)
	code, res, raw := e.post("/api/v1/ingest", map[string]string{"X-API-Key": sensor}, body)
	if code != 200 || res.Accepted != 1 || res.Rejected != 3 || len(res.Errors) != 3 {
		t.Fatalf("ingest: %d %+v %s", code, res, raw)
	}
	if !strings.HasPrefix(res.Errors[0], "line 2: ") || !strings.Contains(res.Errors[0], "999.1.1.1") {
		t.Errorf("first error %q, want line 2 quoting the rdata", res.Errors[0])
	}
	if _, ok := e.tuple("ok.example.com", 1, "192.0.2.1"); !ok {
		t.Error("the good line was not stored")
	}
	if _, ok := e.tuple("bad.example.com", 1, "999.1.1.1"); ok {
		t.Error("A 999.1.1.1 was stored")
	}
}

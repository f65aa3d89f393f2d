package passive

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// Run: go test ./internal/passive -run '^$' -bench . -benchtime 2s

// BenchmarkReadCrtSh parses a synthetic crt.sh answer of 10,000
// certificates naming 20,000 names (5,000 distinct).
func BenchmarkReadCrtSh(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("[")
	for i := range 10000 {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, `{"issuer_ca_id":1,"issuer_name":"C=US, O=Example CA, CN=Example R1","common_name":"h%d.example.com","name_value":"h%d.example.com\n*.h%d.example.com","id":%d,"entry_timestamp":"2023-01-13T08:52:01.407","not_before":"2023-01-13T00:00:00","not_after":"2023-04-13T23:59:59","serial_number":"01"}`,
			i%5000, i%5000, i%5000, 1000+i)
	}
	buf.WriteString("]")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		obs, err := readCrtSh(context.Background(), bytes.NewReader(data), "example.com", 0, discard)
		if err != nil || len(obs) != 5000 {
			b.Fatalf("%d names, %v", len(obs), err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkReadStream parses a SAF answer of 10,000 objects.
func BenchmarkReadStream(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"cond":"begin"}` + "\n")
	for i := range 10000 {
		fmt.Fprintf(&buf, `{"obj":{"count":%d,"time_first":1600000000,"time_last":1700000000,"rrname":"h%d.example.com.","rrtype":"A","bailiwick":"example.com.","rdata":["192.0.2.%d"]}}`+"\n", i+1, i, i%256)
	}
	buf.WriteString(`{"cond":"succeeded"}` + "\n")
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_, err := readStream(context.Background(), bytes.NewReader(data), "example.com", "bench", 0, discard, func(Observation) error { n++; return nil })
		if err != nil || n != 10000 {
			b.Fatalf("%d, %v", n, err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "objects/s")
}

package store

import (
	"errors"
	"testing"
)

func TestNXLineRoundTrip(t *testing.T) {
	for _, c := range []NXCount{
		{Name: "nothere.example.com", Count: 3, TimeFirst: 1700000000, TimeLast: 1700000300},
		{Name: ".", Count: 1, TimeLast: 1},
		{Name: `we\"ird\\.example`, Count: 1 << 40, TimeFirst: MaxTime, TimeLast: MaxTime},
	} {
		line := AppendNXLine(nil, &c)
		if line[len(line)-1] != '\n' {
			t.Errorf("%q does not end in a newline", line)
		}
		got, err := ParseNXLine(line)
		if err != nil || got != c {
			t.Errorf("ParseNXLine(%s) = %+v, %v; want %+v", line, got, err, c)
		}
	}
}

func TestParseNXLine(t *testing.T) {
	got, err := ParseNXLine([]byte(`{"rrname":"NoThere.Example.COM.","count":2,"time_last":5}`))
	if want := (NXCount{Name: "nothere.example.com", Count: 2, TimeLast: 5}); err != nil || got != want {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{
		``,
		`[]`,
		`{"count":1,"time_last":1}`,
		`{"rrname":"a.example","time_last":1}`,
		`{"rrname":"a.example","count":0,"time_last":1}`,
		`{"rrname":"a.example","count":-1,"time_last":1}`,
		`{"rrname":"a.example","count":1}`,
		`{"rrname":"a..example","count":1,"time_last":1}`,
		`{"rrname":"a.example","count":1,"time_first":9,"time_last":1}`,
		`{"rrname":"a.example","count":1,"time_last":-1}`,
		`{"rrname":"a.example","count":1,"time_last":4294967296}`,
		`{"rrname":"a.example","count":1,"time_last":1,"extra":1}`,
		`{"rrname":"a.example","count":1,"time_last":1} {}`,
	} {
		if c, err := ParseNXLine([]byte(bad)); !errors.Is(err, ErrNXLine) {
			t.Errorf("ParseNXLine(%s) = %+v, %v; want ErrNXLine", bad, c, err)
		}
	}
}

// FuzzParseNXLine: an accepted line is a valid counter that round-trips.
// Run: go test ./internal/store -run '^$' -fuzz FuzzParseNXLine -fuzztime 20s
func FuzzParseNXLine(f *testing.F) {
	f.Add([]byte(`{"rrname":"nothere.example.com","count":3,"time_first":1700000000,"time_last":1700000300}`))
	f.Add([]byte(`{"rrname":"B\u00fccher.example.","count":1,"time_last":0}`))
	f.Add([]byte(`{"rrname":"a\\.b.example","count":18446744073709551615,"time_last":4294967295}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseNXLine(line)
		if err != nil {
			if !errors.Is(err, ErrNXLine) {
				t.Fatalf("error %v is not ErrNXLine", err)
			}
			return
		}
		if err := CheckName(c.Name); err != nil || c.Count == 0 || c.TimeFirst > c.TimeLast {
			t.Fatalf("accepted an invalid counter %+v (%v)", c, err)
		}
		again, err := ParseNXLine(AppendNXLine(nil, &c))
		if err != nil || again != c {
			t.Fatalf("round trip of %+v gave %+v, %v", c, again, err)
		}
	})
}

package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		issues  []string // "line kind"
		err     error
		summary string
	}{
		{
			name: "reductions",
			in:   "example.com\nhttps://www.example.net:8443/x?y\n*.example.org\nBücher.example\nhttp://user@mail.example.com/\nexample.net:53\nexample.org/path\nEXAMPLE.COM.\n",
			want: []string{"example.com", "www.example.net", "example.org", "xn--bcher-kva.example", "mail.example.com", "example.net"},
			// example.org/path duplicates line 3, EXAMPLE.COM. line 1;
			// www.example.net and mail.example.com lie under listed domains.
			issues: []string{"7 duplicate", "8 duplicate", "2 nested", "5 nested"},
		},
		{
			name:   "comments and blanks",
			in:     "# header\n\n   \nexample.com # brand\n\t# indented comment\nexample.net\r\n",
			want:   []string{"example.com", "example.net"},
			issues: nil,
		},
		{
			name:   "invalid lines are skipped with their number",
			in:     "192.0.2.1\nnot a domain\nlocalhost\na..b.example\nexample.com\n[2001:db8::1]:53\n\x00\x01bin\n*.*.example.net\nhttp://[::1\n",
			want:   []string{"example.com"},
			issues: []string{"1 invalid", "2 invalid", "3 invalid", "4 invalid", "6 invalid", "7 invalid", "8 invalid", "9 invalid"},
		},
		{
			name:   "an address with a final dot is an address",
			in:     "192.0.2.1.\nexample.com\n0.0.0.0.\n",
			want:   []string{"example.com"},
			issues: []string{"1 invalid", "3 invalid"},
		},
		{
			name:    "empty list",
			in:      "",
			err:     ErrNoDomains,
			summary: "0 domains from 0 lines",
		},
		{
			name:    "only comments",
			in:      "# nothing\n\n",
			err:     ErrNoDomains,
			summary: "0 domains from 2 lines",
		},
		{
			name:    "only garbage",
			in:      "!!!\n???\n",
			err:     ErrNoDomains,
			issues:  []string{"1 invalid", "2 invalid"},
			summary: "0 domains from 2 lines, 2 invalid (skipped)",
		},
		{
			name:    "last line without end of line",
			in:      "example.com\nexample.ne",
			want:    []string{"example.com", "example.ne"},
			issues:  []string{"2 truncated"},
			summary: "2 domains from 2 lines, last line without end of line",
		},
		{
			name:   "over-long line",
			in:     strings.Repeat("a", 5000) + ".example\nexample.com\n",
			want:   []string{"example.com"},
			issues: []string{"1 invalid"},
		},
		{
			name:   "nested before its parent",
			in:     "a.b.example.com\nexample.com\n",
			want:   []string{"a.b.example.com", "example.com"},
			issues: []string{"1 nested"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadList(context.Background(), strings.NewReader(tc.in), ListOptions{})
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if fmt.Sprint(l.Domains) != fmt.Sprint(tc.want) {
				t.Errorf("domains = %q, want %q", l.Domains, tc.want)
			}
			var got []string
			for _, is := range l.Issues {
				got = append(got, fmt.Sprintf("%d %s", is.Line, is.Kind))
				if is.Reason == "" || is.Text == "" {
					t.Errorf("issue without text or reason: %+v", is)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.issues) {
				t.Errorf("issues = %q, want %q\n%v", got, tc.issues, l.Issues)
			}
			if tc.summary != "" && l.Summary() != tc.summary {
				t.Errorf("summary = %q, want %q", l.Summary(), tc.summary)
			}
		})
	}
}

// TestReadListFile reads the documented example list.
func TestReadListFile(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "list.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := ReadList(context.Background(), f, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "[example.com www.example.net example.org xn--bcher-kva.example shop.example.com]"
	if fmt.Sprint(l.Domains) != want {
		t.Fatalf("domains = %v, want %v", l.Domains, want)
	}
	if got := l.Summary(); got != "5 domains from 12 lines, 4 invalid (skipped), 1 duplicate (skipped), 1 under another listed domain" {
		t.Fatalf("summary = %q", got)
	}
}

// TestReadListGarbage: 10 MB of random bytes is a list of invalid lines,
// counted, the first few kept, read in bounded memory.
func TestReadListGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 10<<20)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	l, err := ReadList(context.Background(), bytes.NewReader(buf), ListOptions{})
	if !errors.Is(err, ErrNoDomains) && err != nil {
		t.Fatalf("err = %v", err)
	}
	if l.Invalid == 0 || len(l.Issues) > DefaultMaxIssues {
		t.Fatalf("invalid = %d, issues kept = %d", l.Invalid, len(l.Issues))
	}
	for _, is := range l.Issues {
		if len(is.Text) > 400 {
			t.Fatalf("issue quotes %d bytes: %s", len(is.Text), is.Text[:100])
		}
	}
}

// TestReadListLarge: 100,000 domains, with a cap below and above.
func TestReadListLarge(t *testing.T) {
	var b strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&b, "d%d.example\n", i)
	}
	l, err := ReadList(context.Background(), strings.NewReader(b.String()), ListOptions{})
	if err != nil || len(l.Domains) != 100_000 {
		t.Fatalf("got %d domains, %v", len(l.Domains), err)
	}
	_, err = ReadList(context.Background(), strings.NewReader(b.String()), ListOptions{MaxDomains: 1000})
	if !errors.Is(err, ErrTooManyDomains) || !strings.Contains(err.Error(), "line 1001") {
		t.Fatalf("err = %v, want ErrTooManyDomains at line 1001", err)
	}
}

// TestReadListPipe: a writer that dies mid-line (the pipe closes early)
// leaves the domains read so far and a note; a read error names the line;
// a cancelled context stops a blocked read.
func TestReadListPipe(t *testing.T) {
	t.Run("closed early", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			pw.WriteString("example.com\nexample.net\nexample.or")
			pw.Close()
		}()
		l, err := ReadList(context.Background(), pr, ListOptions{})
		pr.Close()
		if err != nil || len(l.Domains) != 3 || !l.Truncated {
			t.Fatalf("domains %v truncated %v err %v", l.Domains, l.Truncated, err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		r := io.MultiReader(strings.NewReader("example.com\nexample.net\n"), errReader{})
		l, err := ReadList(context.Background(), r, ListOptions{})
		if err == nil || !strings.Contains(err.Error(), "line 3") || len(l.Domains) != 2 {
			t.Fatalf("err = %v, domains %v", err, l.Domains)
		}
	})
	t.Run("cancelled while blocked", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Close()
		defer pr.Close()
		pw.WriteString("example.com\n")
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err = ReadList(ctx, pr, ListOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("input/output error") }

func TestShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		bad  bool
	}{
		{"1/4", Shard{1, 4}, false},
		{"4/4", Shard{4, 4}, false},
		{"", Shard{}, false},
		{"0/4", Shard{}, true},
		{"5/4", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseShard(tc.in)
			if (err != nil) != tc.bad || got != tc.want {
				t.Fatalf("ParseShard(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
	// Every domain lands in exactly one of N shards, and the split is
	// roughly even.
	const n = 4
	counts := make([]int, n)
	for i := range 10_000 {
		d := fmt.Sprintf("d%d.example", i)
		in := 0
		for k := 1; k <= n; k++ {
			if (Shard{k, n}).Has(d) {
				in++
				counts[k-1]++
			}
		}
		if in != 1 {
			t.Fatalf("%s is in %d shards", d, in)
		}
	}
	for k, c := range counts {
		if c < 2000 || c > 3000 {
			t.Fatalf("shard %d/%d holds %d of 10000", k+1, n, c)
		}
	}
	// A list read with a shard keeps only its domains.
	l, err := ReadList(context.Background(), strings.NewReader("a.example\nb.example\nc.example\nd.example\n"), ListOptions{Shard: Shard{1, 2}})
	if err != nil && !errors.Is(err, ErrNoDomains) {
		t.Fatal(err)
	}
	if len(l.Domains)+l.OtherShards != 4 {
		t.Fatalf("shard kept %d, others %d", len(l.Domains), l.OtherShards)
	}
}

func FuzzReadList(f *testing.F) {
	if seed, err := os.ReadFile(filepath.Join("testdata", "list.txt")); err == nil {
		f.Add(seed)
	}
	for _, s := range []string{"", "example.com", "https://[::1]:80/", "*.x.example\r\n", "a\xffb.example\n", "#\n\n", "x.example\nx.example"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := ReadList(context.Background(), bytes.NewReader(in), ListOptions{MaxLineBytes: 300, MaxIssues: 5})
		if err != nil && !errors.Is(err, ErrNoDomains) {
			t.Fatalf("unexpected error %v", err)
		}
		if len(l.Issues) > 5 {
			t.Fatalf("%d issues kept", len(l.Issues))
		}
		seen := map[string]bool{}
		for _, d := range l.Domains {
			if seen[d] {
				t.Fatalf("duplicate %q kept", d)
			}
			seen[d] = true
			if again, _ := reduce(d); again != d {
				t.Fatalf("domain %q does not reduce to itself (%q)", d, again)
			}
		}
		if l.Lines < len(l.Domains)+l.Invalid+l.Duplicates {
			t.Fatalf("counts exceed lines: %+v", l)
		}
	})
}

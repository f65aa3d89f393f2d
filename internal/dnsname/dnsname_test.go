package dnsname

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"lower and trailing dot", "WWW.Example.COM.", "www.example.com", nil},
		{"spaces trimmed", "  example.com \n", "example.com", nil},
		{"idna", "bücher.example", "xn--bcher-kva.example", nil},
		{"idna upper", "BÜCHER.example", "xn--bcher-kva.example", nil},
		{"ideographic full stop", "bücher\u3002example", "xn--bcher-kva.example", nil},
		{"already a-label", "xn--bcher-kva.example", "xn--bcher-kva.example", nil},
		{"service labels", "_ldap._tcp.example.com", "_ldap._tcp.example.com", nil},
		{"wildcard first", "*.example.com", "*.example.com", nil},
		{"wildcard inside", "a.*.example.com", "", ErrBadChar},
		{"empty", "", "", ErrEmpty},
		{"only dot", ".", "", ErrEmpty},
		{"empty label", "a..example.com", "", ErrEmptyLabel},
		{"space inside", "ex ample.com", "", ErrBadChar},
		{"slash", "example.com/x", "", ErrBadChar},
		// Found by FuzzNormalize: IDNA maps U+034F to nothing.
		{"label mapped away", "\u034f", "", ErrEmptyLabel},
		{"inner label mapped away", "a.\u034f.example", "", ErrEmptyLabel},
		{"label too long", "a234567890123456789012345678901234567890123456789012345678901234.example", "", ErrLabelTooLong},
		// The fast path (normalizedLDH) and where it hands over.
		{"canonical", "www.example.com", "www.example.com", nil},
		{"canonical with trailing dot", "www.example.com.", "www.example.com", nil},
		{"two trailing dots", "a..", "", ErrEmptyLabel},
		{"leading dot", ".example.com", "", ErrEmptyLabel},
		{"label of 63", strings.Repeat("a", 63) + ".example", strings.Repeat("a", 63) + ".example", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Normalize(%q) error = %v, want %v", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeTooLong(t *testing.T) {
	long := ""
	for range 60 {
		long += "abcd."
	}
	if _, err := Normalize(long + "example"); !errors.Is(err, ErrTooLong) {
		t.Fatalf("want ErrTooLong, got %v", err)
	}
}

func TestIsSubdomain(t *testing.T) {
	tests := []struct {
		child, parent string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"www.example.com", "example.com", true},
		{"a.b.example.com", "example.com", true},
		{"badexample.com", "example.com", false},
		{"example.com", "www.example.com", false},
		{"com", ".", true},
		{"example.net", "example.com", false},
	}
	for _, tc := range tests {
		if got := IsSubdomain(tc.child, tc.parent); got != tc.want {
			t.Errorf("IsSubdomain(%q, %q) = %v, want %v", tc.child, tc.parent, got, tc.want)
		}
	}
}

func TestLabels(t *testing.T) {
	if got := Parent("www.example.com"); got != "example.com" {
		t.Errorf("Parent = %q", got)
	}
	if got := Parent("com"); got != "." {
		t.Errorf("Parent(com) = %q", got)
	}
	if got := CountLabels("www.example.com"); got != 3 {
		t.Errorf("CountLabels = %d", got)
	}
	if got := CountLabels("."); got != 0 {
		t.Errorf("CountLabels(.) = %d", got)
	}
	if got := FirstLabel("www.example.com"); got != "www" {
		t.Errorf("FirstLabel = %q", got)
	}
	if got := Reverse("www.example.com"); got != "com.example.www" {
		t.Errorf("Reverse = %q", got)
	}
	if got := FromWire("WWW.Example.COM."); got != "www.example.com" {
		t.Errorf("FromWire = %q", got)
	}
	if got := FQDN("example.com"); got != "example.com." {
		t.Errorf("FQDN = %q", got)
	}
	if got := Display("xn--bcher-kva.example"); got != "bücher.example" {
		t.Errorf("Display = %q", got)
	}
}

func TestPublicSuffix(t *testing.T) {
	tests := []struct {
		name, suffix string
		listed       bool
	}{
		{"www.example.com", "com", true},
		{"host.example.co.uk", "co.uk", true},
		{"dc1.corp", "corp", false},
		{"printer.local", "local", false},
		{"app.internal", "internal", false},
		{"x.github.io", "github.io", true},
	}
	for _, tc := range tests {
		s, listed := PublicSuffix(tc.name)
		if s != tc.suffix || listed != tc.listed {
			t.Errorf("PublicSuffix(%q) = %q, %v; want %q, %v", tc.name, s, listed, tc.suffix, tc.listed)
		}
	}
	if got := Registrable("a.b.example.co.uk"); got != "example.co.uk" {
		t.Errorf("Registrable = %q", got)
	}
	if got := Registrable("co.uk"); got != "" {
		t.Errorf("Registrable(co.uk) = %q, want empty", got)
	}
}

func TestCompare(t *testing.T) {
	// RFC 4034 section 6.1 example order.
	ordered := []string{
		"example", "a.example", "yljkjljk.a.example", "Z.a.example",
		`zABC.a.EXAMPLE`, "z.example", `\001.z.example`, "*.z.example", `\200.z.example`,
	}
	for i := 0; i+1 < len(ordered); i++ {
		if c := Compare(ordered[i], ordered[i+1]); c >= 0 {
			t.Errorf("Compare(%q, %q) = %d, want < 0", ordered[i], ordered[i+1], c)
		}
		if c := Compare(ordered[i+1], ordered[i]); c <= 0 {
			t.Errorf("Compare(%q, %q) = %d, want > 0", ordered[i+1], ordered[i], c)
		}
	}
	if Compare("A.Example", "a.example.") != 0 {
		t.Error("case and trailing dot must not matter")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"example.com", "bücher.example", "_sip._tcp.example.com", "*.x", "a..b", "\u3002", "xn--", "A.B.C.",
		"www.example.com.", "a.", ".", "a..", "_dmarc.example.com", "-.x", strings.Repeat("a", 63) + ".b", strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		// The fast path agrees with the general one.
		if slow, serr := normalize(s); slow != n || (serr == nil) != (err == nil) {
			t.Fatalf("Normalize(%q) = %q, %v; the general path gives %q, %v", s, n, err, slow, serr)
		}
		if err != nil {
			return
		}
		// The canonical form is a fixed point and stays within limits.
		again, err := Normalize(n)
		if err != nil || again != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q (%v)", s, n, again, err)
		}
		if len(n) > 253 {
			t.Fatalf("over-long result %q", n)
		}
	})
}

// BenchmarkNormalize measures the canonical input an API lookup brings
// (the fast path) and input that needs the general path.
//
//	go test ./internal/dnsname -run '^$' -bench Normalize
func BenchmarkNormalize(b *testing.B) {
	for _, in := range []string{"host17.zone42.example.com", "Host17.Zone42.Example.COM."} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

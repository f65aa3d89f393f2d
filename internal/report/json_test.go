package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/dnsscout/dnsscout/internal/recon"
	"github.com/dnsscout/dnsscout/internal/scan"
)

// TestStreamJSONMatchesMarshal: the streamed JSON is byte for byte what
// json.MarshalIndent gives, for one result and several, with the big lists
// full, empty or nil, and with a nested "names" key (changes) before the
// top-level one.
func TestStreamJSONMatchesMarshal(t *testing.T) {
	rich, changes := withBaseline(t)
	rich.Changes = changes[rich.Domain]
	empty := second()
	empty.Names, empty.Records, empty.Addresses = []recon.Name{}, []recon.Record{}, []recon.AddressInfo{}
	nilLists := second()
	nilLists.Names, nilLists.Records, nilLists.Addresses = nil, nil, nil
	tests := []struct {
		name    string
		results []*scan.Report
	}{
		{"one rich result", []*scan.Report{rich}},
		{"several", []*scan.Report{loadSample(t), second(), empty}},
		{"empty lists", []*scan.Report{empty}},
		{"nil lists", []*scan.Report{nilLists}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v any = tc.results
			if len(tc.results) == 1 {
				v = tc.results[0]
			}
			want, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, '\n')
			var got bytes.Buffer
			if err := streamJSON(&got, tc.results); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				i := 0
				for i < len(want) && i < got.Len() && want[i] == got.Bytes()[i] {
					i++
				}
				t.Fatalf("differs at byte %d:\n got: %.200q\nwant: %.200q", i, got.Bytes()[i:], want[i:])
			}
		})
	}
}

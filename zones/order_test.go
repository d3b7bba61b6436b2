package zones

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestSortRecords uses the example of RFC 4034 §6.1, with records of
// several types mixed in, and checks the SOA comes first.
func TestSortRecords(t *testing.T) {
	want := []string{
		"example. 1 IN SOA ns.example. hm.example. 1 2 3 4 5",
		"example. 1 IN NS ns.example.",
		"example. 1 IN MX 10 b.example.",
		"example. 1 IN MX 20 a.example.",
		"a.example. 1 IN A 192.0.2.1",
		"yljkjljk.a.example. 1 IN A 192.0.2.1",
		"Z.a.example. 1 IN A 192.0.2.1",
		"zABC.a.EXAMPLE. 1 IN A 192.0.2.1",
		"z.example. 1 IN A 192.0.2.1",
		"z.example. 1 IN A 192.0.2.2",
		"z.example. 1 IN TXT \"a\"",
		`\001.z.example. 1 IN A 192.0.2.1`,
		`*.z.example. 1 IN A 192.0.2.1`,
		`\200.z.example. 1 IN A 192.0.2.1`,
	}
	rrs := make([]dns.RR, len(want))
	for i, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		rrs[len(want)-1-i] = rr
	}
	SortRecords(rrs)
	for i, rr := range rrs {
		got := strings.Join(strings.Fields(rr.String()), " ")
		w, _ := dns.NewRR(want[i])
		if got != strings.Join(strings.Fields(w.String()), " ") {
			t.Errorf("position %d: got %s, want %s", i, got, want[i])
		}
	}
}

// TestNameKeyPrefix checks no name's key is a prefix of another's, which
// the owner prefix scans rely on.
func TestNameKeyPrefix(t *testing.T) {
	names := []string{".", "com.", "example.com.", "www.example.com.", `\000.example.com.`, `\001.example.com.`, "examplf.com."}
	for _, a := range names {
		for _, b := range names {
			if a != b && strings.HasPrefix(string(nameKey(b)), string(nameKey(a))) {
				t.Errorf("nameKey(%s) is a prefix of nameKey(%s)", a, b)
			}
		}
	}
}

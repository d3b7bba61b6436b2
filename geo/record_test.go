package geo

import (
	"net/netip"
	"testing"

	"github.com/lbdns/lbdns/geo/geotest"
)

func TestInternCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"DE", "DE"}, {"de", "DE"}, {"uS", "US"}, {"AA", "AA"}, {"ZZ", "ZZ"}, {"eu", "EU"},
		{"", ""}, {"A", "A"}, {"A1", "A1"}, {"usa", "USA"}, {"ü", "Ü"},
	}
	for _, tt := range tests {
		if got := internCode([]byte(tt.in)); got != tt.want {
			t.Errorf("internCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	b := []byte("fr")
	if n := testing.AllocsPerRun(100, func() { internCode(b) }); n != 0 {
		t.Errorf("internCode allocates %v times", n)
	}
}

// TestQueryPathAllocations pins down what the query path costs: nothing,
// once the record cache holds the client's record.
func TestQueryPathAllocations(t *testing.T) {
	db := openPlaces(t)
	m := testMap(t)
	a := geotest.Frankfurt.Addr()
	db.Lookup(a) // fill the cache
	d := netip.MustParsePrefix("198.18.0.0/16")
	for name, f := range map[string]func(){
		"DB.Lookup (cached)":  func() { db.Lookup(a) },
		"DB.Lookup (no data)": func() { db.Lookup(geotest.UnknownV4) },
		"nil DB.Lookup":       func() { (*DB)(nil).Lookup(a) },
		"PrefixMap.Lookup":    func() { m.Lookup(a) },
		"PrefixMap.Scope":     func() { m.Scope(a, d) },
		"Rank":                func() { Rank(Location{Country: "DE"}, Location{Country: "DE"}) },
	} {
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
	// A record the cache does not hold costs exactly its cache entry.
	r := db.cur.Load()
	r.cache = recordCache{}
	if n := testing.AllocsPerRun(1, func() { r.cache = recordCache{}; db.Lookup(a) }); n > 1 {
		t.Errorf("uncached DB.Lookup: %v allocations, want at most 1", n)
	}
}

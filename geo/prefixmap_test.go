package geo

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func mustMap(t testing.TB, entries ...PrefixEntry) *PrefixMap {
	t.Helper()
	m, err := NewPrefixMap(entries)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testMap nests several levels in both families and has siblings, gaps and
// an IPv4-mapped entry.
func testMap(t testing.TB) *PrefixMap {
	return mustMap(t,
		PrefixEntry{pfx("198.18.0.0/15"), 1},
		PrefixEntry{pfx("198.18.0.0/16"), 2},
		PrefixEntry{pfx("198.18.5.0/24"), 3},
		PrefixEntry{pfx("198.18.5.128/25"), 4},
		PrefixEntry{pfx("198.18.7.9/32"), 5},
		PrefixEntry{pfx("198.19.16.0/20"), 6},
		PrefixEntry{pfx("100.64.0.0/10"), 7},
		PrefixEntry{pfx("100.64.1.77/16"), 8}, // not masked: means 100.64.0.0/16
		PrefixEntry{pfx("2001:db8::/32"), 10},
		PrefixEntry{pfx("2001:db8:1::/48"), 11},
		PrefixEntry{pfx("2001:db8:1:2::/64"), 12},
		PrefixEntry{pfx("3fff::/20"), 13},
		PrefixEntry{pfx("::ffff:203.0.113.0/120"), 14}, // stored as 203.0.113.0/24
	)
}

func TestPrefixMapLookup(t *testing.T) {
	m := testMap(t)
	tests := []struct {
		addr   string
		prefix string // "" for no match
		value  int
	}{
		{"198.18.0.1", "198.18.0.0/16", 2},
		{"198.18.5.1", "198.18.5.0/24", 3},
		{"198.18.5.200", "198.18.5.128/25", 4},
		{"198.18.5.127", "198.18.5.0/24", 3},
		{"198.18.7.9", "198.18.7.9/32", 5},
		{"198.18.7.8", "198.18.0.0/16", 2},
		{"198.18.7.10", "198.18.0.0/16", 2},
		{"198.18.255.255", "198.18.0.0/16", 2},
		{"198.19.0.1", "198.18.0.0/15", 1},
		{"198.19.16.1", "198.19.16.0/20", 6},
		{"198.19.32.1", "198.18.0.0/15", 1},
		{"198.20.0.0", "", 0},
		{"198.17.255.255", "", 0},
		{"100.64.200.1", "100.64.0.0/16", 8},
		{"100.100.0.1", "100.64.0.0/10", 7},
		{"203.0.113.9", "203.0.113.0/24", 14},
		{"0.0.0.0", "", 0},
		{"255.255.255.255", "", 0},
		// IPv4-mapped addresses are matched as IPv4.
		{"::ffff:198.18.5.200", "198.18.5.128/25", 4},
		{"::ffff:203.0.113.9", "203.0.113.0/24", 14},
		{"::ffff:192.0.2.1", "", 0},
		{"2001:db8::1", "2001:db8::/32", 10},
		{"2001:db8:1::1", "2001:db8:1::/48", 11},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64", 12},
		{"2001:db8:1:3::1", "2001:db8:1::/48", 11},
		{"2001:db8:ffff::1", "2001:db8::/32", 10},
		{"2001:db9::1", "", 0},
		{"3fff:fff:ffff::1", "3fff::/20", 13},
		{"3fff:1000::1", "", 0},
		{"::", "", 0},
		// The IPv4 address of an entry does not match as an IPv6 address.
		{"::c612:1", "", 0},
		{"fe80::1%eth0", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			e, ok := m.Lookup(ip(tt.addr))
			if tt.prefix == "" {
				if ok {
					t.Errorf("Lookup = %v, want no match", e)
				}
				return
			}
			if !ok || e.Prefix != pfx(tt.prefix) || e.Value != tt.value {
				t.Errorf("Lookup = (%v, %v), want ({%s %d}, true)", e, ok, tt.prefix, tt.value)
			}
		})
	}
}

func TestPrefixMapDefaultRoutes(t *testing.T) {
	m := mustMap(t,
		PrefixEntry{pfx("0.0.0.0/0"), 1},
		PrefixEntry{pfx("::/0"), 2},
		PrefixEntry{pfx("198.18.0.0/16"), 3},
	)
	for addr, want := range map[string]int{
		"1.2.3.4": 1, "198.18.1.1": 3, "::ffff:1.2.3.4": 1, "2001:db8::1": 2, "::": 2,
	} {
		if e, ok := m.Lookup(ip(addr)); !ok || e.Value != want {
			t.Errorf("Lookup(%s) = (%v, %v), want value %d", addr, e, ok, want)
		}
	}
}

func TestNewPrefixMapErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []PrefixEntry
		wantErr string // substring; "" means success
	}{
		{"empty", nil, ""},
		{"duplicate, same value", []PrefixEntry{{pfx("198.18.0.0/16"), 1}, {pfx("198.18.0.0/16"), 1}}, ""},
		{"duplicate, different values", []PrefixEntry{{pfx("198.18.0.0/16"), 1}, {pfx("198.18.0.0/16"), 2}}, "198.18.0.0/16"},
		{"duplicate after masking", []PrefixEntry{{pfx("198.18.0.0/16"), 1}, {pfx("198.18.9.9/16"), 2}}, "198.18.0.0/16"},
		{"duplicate via IPv4-mapped form", []PrefixEntry{{pfx("10.0.0.0/8"), 1}, {pfx("::ffff:10.0.0.0/104"), 2}}, "10.0.0.0/8"},
		{"same address, different lengths", []PrefixEntry{{pfx("198.18.0.0/16"), 1}, {pfx("198.18.0.0/24"), 2}}, ""},
		{"IPv6 duplicate", []PrefixEntry{{pfx("2001:db8::/32"), 1}, {pfx("2001:db8::/48"), 2}, {pfx("2001:db8::/32"), 3}}, "2001:db8::/32"},
		{"invalid prefix", []PrefixEntry{{netip.Prefix{}, 1}}, "invalid prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewPrefixMap(tt.entries)
			if tt.wantErr == "" {
				if err != nil || m == nil {
					t.Fatalf("NewPrefixMap = (%v, %v), want a map", m, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewPrefixMap error = %v, want one naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestPrefixMapNil(t *testing.T) {
	var m *PrefixMap
	if e, ok := m.Lookup(ip("198.18.0.1")); ok {
		t.Errorf("nil map Lookup = %v, want no match", e)
	}
	if m.Len() != 0 {
		t.Errorf("nil map Len = %d", m.Len())
	}
	if e, ok := testMap(t).Lookup(netip.Addr{}); ok {
		t.Errorf("Lookup(zero Addr) = %v, want no match", e)
	}
}

// TestPrefixMapLookupRandom checks Lookup against a linear scan on random
// nested tables.
func TestPrefixMapLookupRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		// Concentrate addresses in a small space so prefixes nest and collide.
		if v6 {
			b := ip("2001:db8::").As16()
			b[14], b[15] = byte(r.IntN(4)), byte(r.IntN(256))
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(4)), byte(r.IntN(256))})
	}
	for round := range 50 {
		var entries []PrefixEntry
		seen := map[netip.Prefix]bool{}
		for i := range 60 {
			v6 := r.IntN(2) == 0
			a := randAddr(v6)
			bitsLo := 14
			if v6 {
				bitsLo = 14 + 96
			}
			p, _ := a.Prefix(bitsLo + r.IntN(a.BitLen()-bitsLo+1))
			if seen[p] {
				continue
			}
			seen[p] = true
			entries = append(entries, PrefixEntry{p, i})
		}
		m := mustMap(t, entries...)
		for range 500 {
			a := randAddr(r.IntN(2) == 0)
			want, wantOK := PrefixEntry{}, false
			for _, e := range entries {
				if e.Prefix.Contains(a) && (!wantOK || e.Prefix.Bits() > want.Prefix.Bits()) {
					want, wantOK = e, true
				}
			}
			got, ok := m.Lookup(a)
			if got != want || ok != wantOK {
				t.Fatalf("round %d: Lookup(%s) = (%v, %v), want (%v, %v)", round, a, got, ok, want, wantOK)
			}
		}
	}
}

func BenchmarkPrefixMapLookup(b *testing.B) {
	// A realistic table: a thousand /16../24 networks spread over IPv4, and
	// some nesting.
	var entries []PrefixEntry
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{byte(i % 223), byte(i * 7), byte(i * 13), 0})
		p, _ := a.Prefix(16 + i%9)
		entries = append(entries, PrefixEntry{p, i})
	}
	m, err := NewPrefixMap(dedupe(entries))
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(i % 223), byte(i * 7), byte(i * 13), 1})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Lookup(addrs[i%len(addrs)])
	}
}

func dedupe(entries []PrefixEntry) []PrefixEntry {
	seen := map[netip.Prefix]bool{}
	var out []PrefixEntry
	for _, e := range entries {
		if p := e.Prefix.Masked(); !seen[p] {
			seen[p] = true
			out = append(out, e)
		}
	}
	return out
}

func ExamplePrefixMap_Lookup() {
	m, _ := NewPrefixMap([]PrefixEntry{
		{netip.MustParsePrefix("198.18.0.0/15"), 0},
		{netip.MustParsePrefix("198.18.5.0/24"), 1},
	})
	e, ok := m.Lookup(netip.MustParseAddr("198.18.5.1"))
	fmt.Println(e.Prefix, e.Value, ok)
	// Output: 198.18.5.0/24 1 true
}

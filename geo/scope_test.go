package geo

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestScope(t *testing.T) {
	m := mustMap(t,
		PrefixEntry{pfx("198.18.0.0/16"), 1},
		PrefixEntry{pfx("198.18.5.0/24"), 2},
		PrefixEntry{pfx("198.18.200.0/24"), 3},
		PrefixEntry{pfx("198.18.201.0/24"), 3},
		PrefixEntry{pfx("100.64.0.0/10"), 4},
		PrefixEntry{pfx("100.64.0.0/24"), 5},
		PrefixEntry{pfx("2001:db8::/32"), 10},
		PrefixEntry{pfx("2001:db8:1::/48"), 11},
		PrefixEntry{pfx("2001:db8:1:ff::/64"), 12},
	)
	tests := []struct {
		name    string
		addr    string
		decided string
		want    int
	}{
		// 198.18.0.1 and 198.18.5.0 share 21 bits (198.18.0/21): a scope of
		// 21 would hand the /24's answer to the /16's clients.
		{"decided /16, more specific /24 nearby", "198.18.0.1", "198.18.0.0/16", 22},
		// Third octet 128 = 1000_0000 shares no bit with 5 = 0000_0101 but
		// one with 200 = 1100_1000, so the /24 at .200 sets the scope: 18.
		{"decided /16, /24s on both sides", "198.18.128.1", "198.18.0.0/16", 18},
		{"decided /16, next to a /24", "198.18.202.1", "198.18.0.0/16", 23},
		{"decided /16, between two /24s", "198.18.4.255", "198.18.0.0/16", 24},
		// The answer was decided by the /24 itself: nothing more specific
		// inside it.
		{"decided by the /24", "198.18.5.1", "198.18.5.0/24", 24},
		{"decided by /24, sibling /24 next door", "198.18.200.1", "198.18.200.0/24", 24},
		// A GeoIP network can be narrower than the entries around it; no map
		// entry overlaps it, so its own length stands.
		{"GeoIP /28 with no entry inside", "198.18.9.1", "198.18.9.0/28", 28},
		// GeoIP /8 around a map that has entries inside it (100.64.0.0/10
		// contains the address too, and is not counted); 65 and 64 share 7
		// bits.
		{"GeoIP /8 with map /24 inside", "100.65.0.1", "100.0.0.0/8", 16},
		{"no overlap at all", "203.0.113.1", "203.0.113.0/24", 24},
		{"no overlap, wide", "203.0.113.1", "203.0.0.0/16", 16},
		// A wide decision overlapping an entry far away is narrowed just
		// enough to exclude it.
		{"GeoIP /0", "8.8.8.8", "0.0.0.0/0", 2},
		{"host route", "198.18.0.1", "198.18.0.1/32", 32},
		{"decided not masked", "198.18.0.1", "198.18.0.77/16", 22},
		{"IPv6 decided /32, /48 inside", "2001:db8:2::1", "2001:db8::/32", 47},
		{"IPv6 decided /48, /64 inside", "2001:db8:1::1", "2001:db8:1::/48", 57},
		{"IPv6 no overlap", "3fff::1", "3fff::/20", 20},
		// IPv4-mapped addresses are computed in IPv4 and answered in IPv6
		// terms, whichever form decided came in.
		{"mapped, IPv4 decided", "::ffff:198.18.0.1", "198.18.0.0/16", 96 + 22},
		{"mapped, mapped decided", "::ffff:198.18.0.1", "::ffff:198.18.0.0/112", 96 + 22},
		// 203 = 1100_1011 and 198 = 1100_0110 share 4 bits.
		{"mapped, decided ::/0", "::ffff:203.0.113.1", "::/0", 96 + 5},
		// Inputs that break the contract get the always-safe full length.
		{"decided does not contain addr", "198.18.0.1", "203.0.113.0/24", 32},
		{"decided of the other family", "2001:db8::1", "198.18.0.0/16", 128},
		{"invalid decided", "198.18.0.1", "", 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var decided netip.Prefix
			if tt.decided != "" {
				decided = pfx(tt.decided)
			}
			if got := m.Scope(ip(tt.addr), decided); got != tt.want {
				t.Errorf("Scope(%s, %s) = %d, want %d", tt.addr, tt.decided, got, tt.want)
			}
		})
	}
}

func TestScopeNilMap(t *testing.T) {
	var m *PrefixMap
	if got := m.Scope(ip("198.18.0.1"), pfx("198.18.0.0/16")); got != 16 {
		t.Errorf("nil map Scope = %d, want 16", got)
	}
	if got := m.Scope(netip.Addr{}, netip.Prefix{}); got != 0 {
		t.Errorf("Scope(zero) = %d, want 0", got)
	}
}

// TestScopeRandom checks the defining property on random tables: the scope
// is at least decided's length, the cached range addr/scope contains no
// more specific entry that does not contain addr, and one bit shorter
// (when still at least decided's length) it would.
func TestScopeRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	randAddr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{198, 18, byte(r.IntN(8)), byte(r.IntN(256))})
	}
	for round := range 50 {
		var entries []PrefixEntry
		seen := map[netip.Prefix]bool{}
		for i := range 40 {
			p, _ := randAddr().Prefix(12 + r.IntN(21))
			if !seen[p] {
				seen[p] = true
				entries = append(entries, PrefixEntry{p, i})
			}
		}
		m := mustMap(t, entries...)
		conflicts := func(a netip.Addr, s int, d netip.Prefix) bool {
			cached, _ := a.Prefix(s)
			for _, e := range entries {
				if e.Prefix.Bits() > d.Bits() && !e.Prefix.Contains(a) && cached.Overlaps(e.Prefix) {
					return true
				}
			}
			return false
		}
		for range 300 {
			a := randAddr()
			// decided is the longest match, or a random GeoIP-like network.
			decided, _ := a.Prefix(8 + r.IntN(25))
			if e, ok := m.Lookup(a); ok && r.IntN(2) == 0 {
				decided = e.Prefix
			}
			s := m.Scope(a, decided)
			if s < decided.Bits() || s > 32 {
				t.Fatalf("round %d: Scope(%s, %s) = %d out of range", round, a, decided, s)
			}
			if conflicts(a, s, decided) {
				t.Fatalf("round %d: Scope(%s, %s) = %d covers a different answer", round, a, decided, s)
			}
			if s > decided.Bits() && !conflicts(a, s-1, decided) {
				t.Fatalf("round %d: Scope(%s, %s) = %d, but %d would do", round, a, decided, s, s-1)
			}
		}
	}
}

func BenchmarkScope(b *testing.B) {
	m := testMap(b)
	a, d := ip("198.18.0.1"), pfx("198.18.0.0/16")
	b.ReportAllocs()
	for b.Loop() {
		m.Scope(a, d)
	}
}

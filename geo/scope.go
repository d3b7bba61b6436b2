package geo

import "net/netip"

// Scope returns the ECS scope prefix length (RFC 7871 §7.2.1) for an answer
// that was decided by decided, a prefix containing addr: the matched map
// entry, or the GeoIP network of the DB lookup. A nil *PrefixMap is empty.
//
// A resolver caches the answer for every client inside addr masked to the
// scope, so the scope must not cover anyone who would get a different
// answer. The decided prefix is uniform by construction, but a more specific
// map entry inside it that does not contain addr sends its clients
// elsewhere. The result is therefore the smallest length, at least
// decided.Bits(), at which addr's network overlaps none of those entries:
// one more than the longest common prefix between addr and any such entry.
// Narrowing further would only cost cache hits. It is never more than
// addr.BitLen().
//
// For an IPv4-mapped addr the computation is done in IPv4 and the result is
// given in IPv6 terms (96 + the IPv4 length), matching the family the ECS
// option arrived in; decided may then be the IPv4 prefix or its mapped form.
// If decided is invalid or does not contain addr, Scope has nothing to go
// on and returns the full length, which is always safe.
func (m *PrefixMap) Scope(addr netip.Addr, decided netip.Prefix) int {
	a := addr.WithZone("")
	u := a.Unmap()
	if !u.IsValid() {
		return 0
	}
	extra := 0
	if a.Is4In6() {
		extra = 96
	}
	d, ok := decidedBits(u, decided)
	if !ok {
		return u.BitLen() + extra
	}
	t, k := m.table(u)
	if len(t) > 0 {
		i := after(t, k)
		// Among entries not containing addr, the one sharing the longest
		// prefix with it is a neighbour in sort order: the first entry
		// starting after addr, or the last one before it once the (at most
		// one per length) entries containing addr are skipped.
		if i < len(t) {
			d = max(d, t[i].start.commonBits(k)+1)
		}
		for j := i - 1; j >= 0; j-- {
			if !t[j].contains(k) {
				d = max(d, t[j].start.commonBits(k)+1)
				break
			}
		}
	}
	return min(d, u.BitLen()) + extra
}

// decidedBits returns the length of decided in the family of u (a normalized
// address), and false if decided does not contain u.
func decidedBits(u netip.Addr, decided netip.Prefix) (int, bool) {
	if !decided.IsValid() {
		return 0, false
	}
	p := unmapPrefix(decided)
	if u.Is4() && p.Addr().Is6() && p.Bits() <= 96 && p.Contains(netip.AddrFrom16(u.As16())) {
		// An IPv6 network wide enough to hold all of ::ffff:0:0/96 (say
		// ::/0) holds every IPv4 address.
		return 0, true
	}
	if !p.Contains(u) {
		return 0, false
	}
	return p.Bits(), true
}

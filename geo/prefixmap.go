package geo

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// PrefixEntry maps a client network to a value, typically the index of the
// site that clients in Prefix should be sent to.
type PrefixEntry struct {
	Prefix netip.Prefix
	Value  int
}

// PrefixMap is an immutable longest-prefix-match table from client networks
// to a value index. It is built once (on configuration load) and then read by
// every query goroutine without locks; a configuration change builds a new
// one. A nil *PrefixMap is empty.
//
// Each family is kept as one slice sorted by (network address, length), with
// every entry pointing at its nearest enclosing entry. A lookup is a binary
// search for the last entry starting at or before the address followed by a
// walk up that chain, so it allocates nothing and touches at most
// log2(n) + (nesting depth) entries.
type PrefixMap struct {
	v4, v6 []pmNode
}

type pmNode struct {
	start  key // masked network address
	bits   int
	parent int // index of the nearest enclosing entry, -1 if none
	entry  PrefixEntry
}

func (n *pmNode) contains(k key) bool {
	return n.bits == 0 || n.start.commonBits(k) >= n.bits
}

// NewPrefixMap builds a PrefixMap. Prefixes are Masked() (10.1.2.3/8 is
// 10.0.0.0/8), and prefixes inside ::ffff:0:0/96 are stored as the IPv4
// prefixes they describe, because lookups treat IPv4-mapped addresses as
// IPv4. The same prefix listed twice with the same value is kept once; with
// different values it is an error naming the prefix, since the table could
// not say which one wins.
func NewPrefixMap(entries []PrefixEntry) (*PrefixMap, error) {
	var v4, v6 []pmNode
	for i, e := range entries {
		if !e.Prefix.IsValid() {
			return nil, fmt.Errorf("geo: prefix map entry %d: invalid prefix %q", i, e.Prefix.String())
		}
		p := unmapPrefix(netip.PrefixFrom(e.Prefix.Addr().WithZone(""), e.Prefix.Bits()).Masked())
		n := pmNode{start: keyOf(p.Addr()), bits: p.Bits(), parent: -1, entry: PrefixEntry{Prefix: p, Value: e.Value}}
		if p.Addr().Is4() {
			v4 = append(v4, n)
		} else {
			v6 = append(v6, n)
		}
	}
	var err error
	m := &PrefixMap{}
	if m.v4, err = buildTable(v4); err != nil {
		return nil, err
	}
	if m.v6, err = buildTable(v6); err != nil {
		return nil, err
	}
	return m, nil
}

// buildTable sorts one family, drops exact repeats, rejects conflicting
// repeats and links every entry to its nearest enclosing entry.
func buildTable(nodes []pmNode) ([]pmNode, error) {
	slices.SortStableFunc(nodes, func(a, b pmNode) int {
		if c := cmp.Compare(a.start.hi, b.start.hi); c != 0 {
			return c
		}
		if c := cmp.Compare(a.start.lo, b.start.lo); c != 0 {
			return c
		}
		return cmp.Compare(a.bits, b.bits)
	})
	out := nodes[:0]
	for _, n := range nodes {
		if len(out) > 0 {
			last := &out[len(out)-1]
			if last.start == n.start && last.bits == n.bits {
				if last.entry.Value != n.entry.Value {
					return nil, fmt.Errorf("geo: prefix %s listed with two values, %d and %d",
						n.entry.Prefix, last.entry.Value, n.entry.Value)
				}
				continue
			}
		}
		out = append(out, n)
	}
	// Sorted by (start, length), prefixes are either nested or disjoint, so
	// the enclosing entries of each node are exactly the stack of entries
	// that still contain its start.
	var stack []int
	for i := range out {
		for len(stack) > 0 && !out[stack[len(stack)-1]].contains(out[i].start) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			out[i].parent = stack[len(stack)-1]
		}
		stack = append(stack, i)
	}
	return slices.Clip(out), nil
}

// table returns the entries of a's family and a's key; a must be normalized.
func (m *PrefixMap) table(a netip.Addr) ([]pmNode, key) {
	if m == nil || !a.IsValid() {
		return nil, key{}
	}
	if a.Is4() {
		return m.v4, keyOf(a)
	}
	return m.v6, keyOf(a)
}

// after returns how many entries start at or before k: the index of the
// first entry that starts after k.
func after(t []pmNode, k key) int {
	lo, hi := 0, len(t)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if k.less(t[mid].start) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// Lookup returns the longest prefix containing addr. IPv4-mapped IPv6
// addresses are matched as IPv4 (and the entry returned is the IPv4 one).
func (m *PrefixMap) Lookup(addr netip.Addr) (e PrefixEntry, ok bool) {
	a := normalize(addr)
	t, k := m.table(a)
	// The longest match, if any, encloses (or is) the last entry starting at
	// or before the address: any entry between the match and the address in
	// sort order lies inside the match.
	for i := after(t, k) - 1; i >= 0; i = t[i].parent {
		if t[i].contains(k) {
			return t[i].entry, true
		}
	}
	return PrefixEntry{}, false
}

// Len reports how many distinct prefixes m holds.
func (m *PrefixMap) Len() int {
	if m == nil {
		return 0
	}
	return len(m.v4) + len(m.v6)
}

package dnsserver

import (
	"slices"

	"github.com/miekg/dns"
)

// sortedTypes returns the RR types present in m in ascending order, so
// answers built from maps are deterministic.
func sortedTypes(m map[uint16][]dns.RR) []uint16 {
	ts := make([]uint16, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

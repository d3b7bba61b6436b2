package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// benchOrigin is the zone both servers serve. .example is reserved (RFC
// 2606), so nothing here can leak into real names.
const benchOrigin = "bench.example."

// query is one DNS question for a query file. ecs, when valid, becomes an
// EDNS Client Subnet option, as a resolver forwarding a client would send.
type query struct {
	name  string
	qtype uint16
	ecs   netip.Prefix
}

// zoneShare is how the zone's names divide among kinds, in percent. The
// mix is what a typical service zone holds: mostly addresses, some
// aliases, some TXT.
var zoneShare = struct{ host, v6, txt, alias int }{host: 40, v6: 25, txt: 15, alias: 20}

// benchZone returns an RFC 1035 master file for benchOrigin with about n
// owner names, and every name/type pair in it that has data (the static
// hits). A records hold addresses from the benchmarking range 198.18.0.0/15
// (RFC 2544), AAAA from the documentation range 3fff::/20 (RFC 9637).
func benchZone(n int) (string, []query) {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s\n$TTL 3600\n", benchOrigin)
	b.WriteString("@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n")
	hits := []query{{benchOrigin, dns.TypeSOA, netip.Prefix{}}, {benchOrigin, dns.TypeNS, netip.Prefix{}}, {"ns1." + benchOrigin, dns.TypeA, netip.Prefix{}}}
	add := func(name string, t uint16) { hits = append(hits, query{name: name + "." + benchOrigin, qtype: t}) }

	hosts := n * zoneShare.host / 100
	for i := range hosts {
		name := fmt.Sprintf("host-%05d", i)
		fmt.Fprintf(&b, "%s IN A %s\n", name, v4At(i+1))
		add(name, dns.TypeA)
		if i%4 == 0 {
			fmt.Fprintf(&b, "%s IN AAAA %s\n", name, v6At(i+1))
			add(name, dns.TypeAAAA)
		}
	}
	for i := range n * zoneShare.v6 / 100 {
		name := fmt.Sprintf("v6-%05d", i)
		fmt.Fprintf(&b, "%s IN AAAA %s\n", name, v6At(1<<20+i))
		add(name, dns.TypeAAAA)
	}
	for i := range n * zoneShare.txt / 100 {
		name := fmt.Sprintf("txt-%05d", i)
		fmt.Fprintf(&b, "%s IN TXT \"v=bench1 id=%d\" \"pad=%s\"\n", name, i, strings.Repeat("x", 20+i%40))
		add(name, dns.TypeTXT)
	}
	for i := range n * zoneShare.alias / 100 {
		name := fmt.Sprintf("alias-%05d", i)
		fmt.Fprintf(&b, "%s IN CNAME host-%05d\n", name, (i*7)%hosts)
		// A through the alias makes both servers follow the in-zone chain.
		add(name, dns.TypeA)
		add(name, dns.TypeCNAME)
	}
	return b.String(), hits
}

// v4At is the i'th address of 198.18.0.0/15.
func v4At(i int) netip.Addr {
	i %= 1 << 17
	return netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
}

// v6At is 3fff::i.
func v6At(i int) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0x3f, 0xff
	a[13], a[14], a[15] = byte(i>>16), byte(i>>8), byte(i)
	return netip.AddrFrom16(a)
}

// staticQueries draws count questions uniformly from hits.
func staticQueries(rng *rand.Rand, hits []query, count int) []query {
	qs := make([]query, count)
	for i := range qs {
		qs[i] = hits[rng.IntN(len(hits))]
	}
	return qs
}

// nxQueries makes count questions for names that do not exist: random
// labels at the apex and under existing names, so neither server can
// answer from a small set of cached denials.
func nxQueries(rng *rand.Rand, count int) []query {
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT}
	qs := make([]query, count)
	for i := range qs {
		label := fmt.Sprintf("nx-%08x", rng.Uint32())
		if i%2 == 1 {
			label += fmt.Sprintf(".host-%05d", rng.IntN(1000))
		}
		qs[i] = query{name: label + "." + benchOrigin, qtype: types[i%len(types)]}
	}
	return qs
}

package main

import (
	"math/rand/v2"
	"net/netip"

	"github.com/lbdns/lbdns/geo/geotest"
)

// city is a place clients and sites can be.
type city struct {
	code, country, continent string
	lat, lon                 float64
}

// cities span all six inhabited continents, so geo steering has real
// distance, country and continent decisions to make.
var cities = []city{
	{"fra", "DE", "EU", 50.11, 8.68}, {"lhr", "GB", "EU", 51.51, -0.13},
	{"cdg", "FR", "EU", 48.86, 2.35}, {"ams", "NL", "EU", 52.37, 4.90},
	{"jfk", "US", "NA", 40.71, -74.01}, {"ord", "US", "NA", 41.88, -87.63},
	{"lax", "US", "NA", 34.05, -118.24}, {"yyz", "CA", "NA", 43.65, -79.38},
	{"gru", "BR", "SA", -23.55, -46.63}, {"eze", "AR", "SA", -34.60, -58.38},
	{"nrt", "JP", "AS", 35.68, 139.65}, {"sin", "SG", "AS", 1.35, 103.82},
	{"bom", "IN", "AS", 19.08, 72.88}, {"syd", "AU", "OC", -33.87, 151.21},
	{"akl", "NZ", "OC", -36.85, 174.76}, {"jnb", "ZA", "AF", -26.20, 28.05},
	{"los", "NG", "AF", 6.52, 3.38}, {"cai", "EG", "AF", 30.04, 31.24},
}

// siteCities are where the geo service has sites: fewer than the client
// cities, so most clients are steered to a site elsewhere.
var siteCities = []string{"fra", "lhr", "jfk", "lax", "gru", "nrt", "sin", "syd", "jnb"}

// The client address space. IPv4 clients are in the shared address space
// 100.64.0.0/10 (RFC 6598), IPv6 ones in the documentation prefix
// 2001:db8::/32 (RFC 3849): neither is routed on the Internet, and only
// ever appears here inside ECS options, never as a packet address.
var (
	clientV4 = netip.MustParsePrefix("100.64.0.0/10")
	clientV6 = netip.MustParsePrefix("2001:db8::/32")
)

// geoPlaces is the GeoIP database's content. Each IPv4 /16 of clientV4 and
// each IPv6 /40 of clientV6 is one city, round robin; every eighth is left
// out so some clients are unknown, and every fourth /16 has a /20 carved
// out for another city, so networks of several lengths decide answers (and
// ECS scopes differ).
func geoPlaces() []geotest.Place {
	var ps []geotest.Place
	for i := range 64 {
		if i%8 == 7 {
			continue
		}
		n := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i), 0, 0}), 16)
		ps = append(ps, place(n, cities[i%len(cities)]))
		if i%4 == 0 {
			sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i), 0x10, 0}), 20)
			ps = append(ps, place(sub, cities[(i+5)%len(cities)]))
		}
	}
	for i := range 256 {
		if i%8 == 7 {
			continue
		}
		a := clientV6.Addr().As16()
		a[4] = byte(i)
		ps = append(ps, place(netip.PrefixFrom(netip.AddrFrom16(a), 40), cities[i%len(cities)]))
	}
	return ps
}

func place(n netip.Prefix, c city) geotest.Place {
	return geotest.Place{Network: n, Lat: c.lat, Lon: c.lon, Country: c.country, Continent: c.continent}
}

// clientPrefixes returns count distinct client networks as a resolver
// would send them in ECS: a quarter IPv6 /56s, the rest IPv4 /24s.
func clientPrefixes(rng *rand.Rand, count int) []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	out := make([]netip.Prefix, 0, count)
	for len(out) < count {
		var p netip.Prefix
		if len(out)%4 == 3 {
			a := clientV6.Addr().As16()
			a[4], a[5], a[6] = byte(rng.UintN(256)), byte(rng.UintN(256)), byte(rng.UintN(256))
			p = netip.PrefixFrom(netip.AddrFrom16(a), 56)
		} else {
			r := rng.UintN(1 << 14) // the /24s of a /10
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(r>>8), byte(r), 0}), 24)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

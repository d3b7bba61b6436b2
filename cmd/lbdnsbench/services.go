package main

import (
	"fmt"
	"net/netip"

	"github.com/lbdns/lbdns/zones"
)

// The load-balanced names, one per policy measured. They live in the bench
// zone, which NSD also serves, but only lbdns has them.
const (
	geoName      = "geo." + benchOrigin
	weightedName = "weighted." + benchOrigin
	hashName     = "hash." + benchOrigin
)

// benchServices returns the services file `lbdns service apply -f` reads.
// Sites have no real servers and so no health checks: every site is up,
// and the runs measure steering, not probing.
func benchServices() ([]byte, error) {
	svcs := []zones.Service{geoService(), weightedService(), hashService()}
	b, err := zones.MarshalServices(svcs)
	if err != nil {
		return nil, err
	}
	// Fail here, with the field named, rather than in the CLI's output.
	if _, err := zones.ParseServices("bench services", string(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// geoService has a site in each of siteCities; one site also claims a
// network the GeoIP database does not know, so the CIDR map is exercised.
func geoService() zones.Service {
	s := zones.Service{Name: geoName, TTL: 30, Policy: zones.PolicyGeo, Answers: 2}
	for i, code := range siteCities {
		c := cityByCode(code)
		site := zones.Site{
			Name:     code,
			VIPs:     vips(i),
			Location: &zones.SiteLoc{Lat: &c.lat, Lon: &c.lon, Country: c.country, Continent: c.continent},
		}
		if code == "jnb" {
			site.Clients = []string{"100.127.0.0/16"}
		}
		s.Sites = append(s.Sites, site)
	}
	return s
}

// weightedService draws one of four sites in proportion 1:2:3:4.
func weightedService() zones.Service {
	s := zones.Service{Name: weightedName, TTL: 30, Policy: zones.PolicyWeighted, Answers: 1}
	for i := range 4 {
		w := 10 * (i + 1)
		s.Sites = append(s.Sites, zones.Site{Name: fmt.Sprintf("w%d", i), VIPs: vips(20 + i), Weight: &w})
	}
	return s
}

// hashService spreads client networks over six sites, two per answer.
func hashService() zones.Service {
	s := zones.Service{Name: hashName, TTL: 30, Policy: zones.PolicyHash, Answers: 2}
	for i := range 6 {
		s.Sites = append(s.Sites, zones.Site{Name: fmt.Sprintf("h%d", i), VIPs: vips(40 + i)})
	}
	return s
}

// vips is site i's IPv4 VIP in 203.0.113.0/24 (RFC 5737) and IPv6 VIP in
// 3fff:100::/32 (RFC 9637).
func vips(i int) []string {
	v4 := netip.AddrFrom4([4]byte{203, 0, 113, byte(10 + i)})
	return []string{v4.String(), fmt.Sprintf("3fff:100::%x", 10+i)}
}

func cityByCode(code string) city {
	for _, c := range cities {
		if c.code == code {
			return c
		}
	}
	panic("no city " + code)
}

package dnsserver

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/lbdns/lbdns/zones"
)

// runTable runs every case of tab against one server.
func runTable(t *testing.T, tab steerTable) {
	s := tab.server(t)
	for _, c := range tab.cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, s) })
	}
}

// geoNearest is, for each test place, the two world sites nearest to it.
// Places without coordinates rank a country or continent match first, then
// the rest by priority and weight (nrt, iad, fra, ...).
var geoNearest = map[string][2]string{
	"Frankfurt": {"fra", "iad"}, "Paris": {"fra", "iad"},
	"NewYork": {"iad", "fra"}, "Ashburn": {"iad", "fra"},
	"SaoPaulo": {"gru", "iad"}, "Tokyo": {"nrt", "syd"}, "Sydney": {"syd", "nrt"},
	"CountryOnly": {"fra", "nrt"}, "ContinentOnly": {"fra", "nrt"},
}

var placeNames = map[netip.Prefix]string{}

func init() {
	named := map[string]geotest.Place{
		"Frankfurt": geotest.Frankfurt, "Frankfurt6": geotest.Frankfurt6, "Paris": geotest.Paris, "Paris6": geotest.Paris6,
		"NewYork": geotest.NewYork, "NewYork6": geotest.NewYork6, "Ashburn": geotest.Ashburn, "Ashburn6": geotest.Ashburn6,
		"SaoPaulo": geotest.SaoPaulo, "SaoPaulo6": geotest.SaoPaulo6, "Tokyo": geotest.Tokyo, "Tokyo6": geotest.Tokyo6,
		"Sydney": geotest.Sydney, "Sydney6": geotest.Sydney6,
		"CountryOnly": geotest.CountryOnly, "ContinentOnly": geotest.ContinentOnly,
	}
	for n, p := range named {
		placeNames[p.Network] = n
	}
}

// placeName is a place's name without the IPv6 suffix: "Tokyo6" → "Tokyo".
func placeName(p geotest.Place) string {
	n := placeNames[p.Network]
	if n == "" {
		panic("unnamed place " + p.Network.String())
	}
	if n[len(n)-1] == '6' {
		n = n[:len(n)-1]
	}
	return n
}

// geoTable: every geotest place, as an ECS network of both families, gets
// the nearest site (geo) or the two nearest (geo2), for A and AAAA, with
// the GeoIP network's length as scope. Unlocated clients get priority, then
// weight order; without ECS the packet source is located.
func geoTable(db func(testing.TB) *geo.DB) steerTable {
	var cases []steerCase
	for _, p := range geotest.Places {
		near, ok := geoNearest[placeName(p)]
		if !ok {
			panic("no expectation for " + placeName(p))
		}
		for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
			sfx := ""
			if qt == dns.TypeAAAA {
				sfx = "6"
			}
			base := fmt.Sprintf("%s %s from %s", placeNames[p.Network], dns.TypeToString[qt], ecsOf(p.Addr()))
			cases = append(cases,
				steerCase{name: "geo " + base, qname: "geo", qtype: qt, ecs: ecsOf(p.Addr()),
					want: vips(near[0] + sfx), scope: p.Network.Bits()},
				steerCase{name: "geo2 " + base, qname: "geo2", qtype: qt, ecs: ecsOf(p.Addr()),
					want: vips(near[0]+sfx, near[1]+sfx), scope: p.Network.Bits()},
			)
		}
		// The whole GeoIP network as the ECS source: the same answer.
		cases = append(cases, steerCase{name: "geo ECS is the GeoIP network " + p.Network.String(), qname: "geo",
			ecs: p.Network, want: vips(near[0]), scope: p.Network.Bits()})
	}
	cases = append(cases,
		// Unknown locations: the lookup misses; the scope is the length of
		// the empty network it ended in (see TestGeoUnknownScope).
		steerCase{name: "unknown IPv4 client: priority then weight", qname: "geo2", ecs: ecs4(geotest.UnknownV4),
			want: vips("nrt", "iad"), scope: 17},
		steerCase{name: "unknown IPv6 client: priority then weight", qname: "geo2", qtype: dns.TypeAAAA, ecs: ecs6(geotest.UnknownV6),
			want: vips("nrt6", "iad6"), scope: 41},
		steerCase{name: "unknown client, answers 1", qname: "geo", ecs: ecs4(geotest.UnknownV4), want: vips("nrt"), scope: 17},
		// No ECS: the packet source is located, and the reply has no ECS.
		steerCase{name: "no ECS: packet source in Sydney", qname: "geo", src: geotest.Sydney.Addr(), want: vips("syd")},
		steerCase{name: "no ECS: packet source in Paris6", qname: "geo2", qtype: dns.TypeAAAA, src: geotest.Paris6.Addr(),
			want: vips("fra6", "iad6")},
		steerCase{name: "no ECS: unlocated packet source", qname: "geo", src: addr("127.0.0.1"), want: vips("nrt")},
		// A zero-length ECS source: the resolver asks for an answer for
		// everyone; the packet source decides and the scope is 0.
		steerCase{name: "ECS 0.0.0.0/0: packet source in Tokyo decides", qname: "geo", ecs: pfx("0.0.0.0/0"),
			src: geotest.Tokyo.Addr(), want: vips("nrt"), scope: 0},
		steerCase{name: "ECS ::/0: packet source in SaoPaulo6 decides", qname: "geo", qtype: dns.TypeAAAA, ecs: pfx("::/0"),
			src: geotest.SaoPaulo6.Addr(), want: vips("gru6"), scope: 0},
		// ECS overrides the packet source.
		steerCase{name: "ECS in Tokyo from a source in Frankfurt", qname: "geo", ecs: ecs4(geotest.Tokyo.Addr()),
			src: geotest.Frankfurt.Addr(), want: vips("nrt"), scope: 20},
		// A CNAME to a service is followed and steered.
		steerCase{name: "CNAME to the service, Sydney", qname: "alias", ecs: ecs4(geotest.Sydney.Addr()), want: vips("syd"), scope: 24},
		steerCase{name: "CNAME to the service, AAAA NewYork6", qname: "alias", qtype: dns.TypeAAAA, ecs: ecs6(geotest.NewYork6.Addr()),
			want: vips("iad6"), scope: 32},
	)
	return steerTable{name: "geo", cases: cases, server: func(t testing.TB) *Server {
		return lbServer(t, db(t), nil,
			newService(t, "geo", zones.PolicyGeo, worldSites()),
			newService(t, "geo2", zones.PolicyGeo, worldSites(), answers(2)))
	}}
}

func TestSteerGeo(t *testing.T) { runTable(t, geoTable(openGeoDB)) }

// TestGeoUnknownScope pins the empty networks geoTable's unknown clients
// fall into, so the scope expectations there are the GeoIP network's length.
func TestGeoUnknownScope(t *testing.T) {
	db := openGeoDB(t)
	for a, bits := range map[netip.Addr]int{geotest.UnknownV4: 17, geotest.UnknownV6: 41, addr("100.66.1.1"): 24} {
		loc, network, ok := db.Lookup(a)
		if ok || network.Bits() != bits {
			t.Errorf("Lookup(%s) = %+v %s %v, want an unknown /%d", a, loc, network, ok, bits)
		}
	}
	for _, p := range geotest.Places {
		if _, network, ok := db.Lookup(p.Addr()); !ok || network != p.Network {
			t.Errorf("Lookup(%s) network %s ok %v, want %s", p.Addr(), network, ok, p.Network)
		}
	}
}

// mappedSites are the world sites with CIDR maps: a /24 and a /56 inside
// Frankfurt's GeoIP networks go to syd, and 100.66.0.0/16, wider than
// Sydney's /24 GeoIP network, goes to nrt.
func mappedSites() []zones.Site {
	s := worldSites()
	s[4].Clients = []string{"198.18.5.0/24", "2001:db8:1:ff00::/56"}
	s[3].Clients = []string{"100.66.0.0/16"}
	return s
}

// mappedTable: a CIDR-map match wins over distance, and the scope is the
// entry's length, or the GeoIP network's lengthened to keep a more specific
// entry out.
func mappedTable(db func(testing.TB) *geo.DB) steerTable {
	return steerTable{name: "mapped", server: func(t testing.TB) *Server {
		return lbServer(t, db(t), nil,
			newService(t, "mapped", zones.PolicyGeo, mappedSites()),
			newService(t, "mapped2", zones.PolicyGeo, mappedSites(), answers(2)),
			drained(newService(t, "mappeddown", zones.PolicyGeo, mappedSites()), zones.SiteDrained, "nrt", "syd"),
			drained(newService(t, "mappeddown2", zones.PolicyGeo, mappedSites(), answers(2)), zones.SiteDrained, "nrt"))
	}, cases: []steerCase{
		{name: "map /24 in Frankfurt wins over distance", qname: "mapped", ecs: pfx("198.18.5.0/24"), want: vips("syd"), scope: 24},
		{name: "map /24, a host inside it", qname: "mapped", ecs: pfx("198.18.5.77/32"), want: vips("syd"), scope: 24},
		{name: "map /24, AAAA answer for an IPv4 client", qname: "mapped", qtype: dns.TypeAAAA, ecs: pfx("198.18.5.0/24"), want: vips("syd6"), scope: 24},
		// 198.18.0.0 and 198.18.5.0 share 21 bits: scope 22 keeps the /24 out.
		{name: "Frankfurt beside the map: scope lengthened", qname: "mapped", ecs: pfx("198.18.0.0/24"), want: vips("fra"), scope: 22},
		{name: "Frankfurt next to the map /24", qname: "mapped", ecs: pfx("198.18.4.0/24"), want: vips("fra"), scope: 24},
		{name: "Frankfurt far from the map /24", qname: "mapped", ecs: pfx("198.18.128.0/24"), want: vips("fra"), scope: 17},
		{name: "map /56 in Frankfurt6", qname: "mapped", qtype: dns.TypeAAAA, ecs: pfx("2001:db8:1:ff00::/56"), want: vips("syd6"), scope: 56},
		{name: "Frankfurt6 beside the map /56: scope 49", qname: "mapped", qtype: dns.TypeAAAA, ecs: pfx("2001:db8:1::/56"), want: vips("fra6"), scope: 49},
		{name: "map /16 wider than Sydney's GeoIP /24", qname: "mapped", ecs: ecs4(geotest.Sydney.Addr()), want: vips("nrt"), scope: 16},
		{name: "map /16, unlocated part", qname: "mapped", ecs: pfx("100.66.1.0/24"), want: vips("nrt"), scope: 16},
		{name: "Paris unaffected by the maps", qname: "mapped", ecs: ecs4(geotest.Paris.Addr()), want: vips("fra"), scope: 20},
		{name: "answers 2: mapped site, then the nearest", qname: "mapped2", ecs: pfx("198.18.5.0/24"), want: vips("syd", "fra"), scope: 24},
		// With two answers the second depends on where the client is, so
		// the scope can be no wider than the GeoIP network.
		{name: "answers 2: map /16, Sydney's /24 decides the rest", qname: "mapped2", ecs: ecs4(geotest.Sydney.Addr()), want: vips("nrt", "syd"), scope: 24},
		{name: "answers 2: map /16, unlocated /24", qname: "mapped2", ecs: pfx("100.66.1.0/24"), want: vips("nrt", "iad"), scope: 24},
		// The mapped site is drained: distance decides, over the GeoIP
		// network, not the map entry.
		{name: "mapped site drained: Sydney by distance", qname: "mappeddown", ecs: ecs4(geotest.Sydney.Addr()), want: vips("gru"), scope: 24},
		{name: "mapped site drained: unlocated part", qname: "mappeddown", ecs: pfx("100.66.1.0/24"), want: vips("iad"), scope: 24},
		{name: "mapped syd drained: Frankfurt map /24 by distance", qname: "mappeddown", ecs: pfx("198.18.5.0/24"), want: vips("fra"), scope: 16},
		{name: "answers 2, mapped nrt drained", qname: "mappeddown2", ecs: ecs4(geotest.Sydney.Addr()), want: vips("syd", "gru"), scope: 24},
	}}
}

func TestSteerGeoClientMap(t *testing.T) { runTable(t, mappedTable(openGeoDB)) }

// regionsTable: sites known only by country or continent.
func regionsTable(db func(testing.TB) *geo.DB) steerTable {
	sites := func() []zones.Site {
		return []zones.Site{
			{Name: "us", VIPs: []string{"192.0.2.21"}, Location: at(geotest.Ashburn)},
			{Name: "de", VIPs: []string{"192.0.2.22"}, Location: &zones.SiteLoc{Country: "DE"}},
			{Name: "eu", VIPs: []string{"192.0.2.23"}, Location: &zones.SiteLoc{Continent: "EU"}},
			{Name: "jp", VIPs: []string{"192.0.2.24"}, Location: &zones.SiteLoc{Country: "JP", Continent: "AS"}},
		}
	}
	return steerTable{name: "regions", server: func(t testing.TB) *Server {
		return lbServer(t, db(t), nil, newService(t, "regions", zones.PolicyGeo, sites(), answers(4)))
	}, cases: []steerCase{
		// Country only: the DE site, then nothing in common: config order.
		{name: "country-only client", qname: "regions", ecs: ecs4(geotest.CountryOnly.Addr()),
			want: []string{"192.0.2.22", "192.0.2.21", "192.0.2.23", "192.0.2.24"}, scope: 24},
		{name: "continent-only client", qname: "regions", ecs: ecs6(geotest.ContinentOnly.Addr()),
			want: []string{"192.0.2.23", "192.0.2.21", "192.0.2.22", "192.0.2.24"}, scope: 48},
		// Tokyo has coordinates, jp none: the country match.
		{name: "Tokyo: a measured distance beats the country match", qname: "regions", ecs: ecs4(geotest.Tokyo.Addr()),
			want: []string{"192.0.2.21", "192.0.2.24", "192.0.2.22", "192.0.2.23"}, scope: 20},
		{name: "Frankfurt: measured, then country, then continent", qname: "regions", ecs: ecs4(geotest.Frankfurt.Addr()),
			want: []string{"192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"}, scope: 16},
		{name: "Paris: measured, then continent", qname: "regions", ecs: ecs4(geotest.Paris.Addr()),
			want: []string{"192.0.2.21", "192.0.2.23", "192.0.2.22", "192.0.2.24"}, scope: 20},
	}}
}

func TestSteerGeoRegions(t *testing.T) { runTable(t, regionsTable(openGeoDB)) }

// TestSteerGeoNoDB: without a GeoIP database nobody is located: priority,
// then weight order for everyone, scope 0 (maps still apply).
func TestSteerGeoNoDB(t *testing.T) {
	runTable(t, noDBTable())
}

func noDBTable() steerTable {
	return steerTable{name: "nodb", server: func(t testing.TB) *Server {
		return lbServer(t, nil, nil, newService(t, "mapped2", zones.PolicyGeo, mappedSites(), answers(2)))
	}, cases: []steerCase{
		{name: "Frankfurt unlocated", qname: "mapped2", ecs: ecs4(geotest.Frankfurt.Addr()), want: vips("nrt", "iad"), scope: 22},
		{name: "far from any map entry", qname: "mapped2", ecs: pfx("203.0.113.0/24"), want: vips("nrt", "iad"), scope: 5},
		{name: "map entry", qname: "mapped2", ecs: pfx("198.18.5.0/24"), want: vips("syd", "nrt"), scope: 24},
		{name: "IPv6 unlocated", qname: "mapped2", qtype: dns.TypeAAAA, ecs: pfx("3fff:3::/56"), want: vips("nrt6", "iad6"), scope: 4},
	}}
}

// failoverSites: two primaries (p0; b outweighs a), one secondary, one
// tertiary.
func failoverSites() []zones.Site {
	return []zones.Site{
		{Name: "a", VIPs: []string{"192.0.2.31", "2001:db8:f::31"}, Priority: 0, Weight: intp(50)},
		{Name: "b", VIPs: []string{"192.0.2.32", "2001:db8:f::32"}, Priority: 0, Weight: intp(100)},
		{Name: "c", VIPs: []string{"192.0.2.33", "2001:db8:f::33"}, Priority: 1},
		{Name: "d", VIPs: []string{"192.0.2.34"}, Priority: 2},
	}
}

func failoverTable() steerTable {
	down := func(service, site string) (bool, string) {
		if service == "fo-cdown."+lbOrigin && (site == "a" || site == "b" || site == "c") {
			return false, "tcp :443: connection refused"
		}
		return true, ""
	}
	return steerTable{name: "failover", server: func(t testing.TB) *Server {
		return lbServer(t, openGeoDB(t), down,
			newService(t, "fo", zones.PolicyFailover, failoverSites(), answers(3)),
			newService(t, "fo1", zones.PolicyFailover, failoverSites()),
			drained(newService(t, "fo-adrained", zones.PolicyFailover, failoverSites(), answers(3)), zones.SiteDrained, "a"),
			drained(newService(t, "fo-abdrained", zones.PolicyFailover, failoverSites(), answers(3)), zones.SiteDrained, "a", "b"),
			drained(newService(t, "fo-abdisabled", zones.PolicyFailover, failoverSites(), answers(3)), zones.SiteDisabled, "a", "b"),
			newService(t, "fo-cdown", zones.PolicyFailover, failoverSites(), answers(3)))
	}, cases: []steerCase{
		{name: "both primaries, heavier first, no secondary", qname: "fo", ecs: ecs4(geotest.Tokyo.Addr()),
			want: []string{"192.0.2.32", "192.0.2.31"}, scope: 0},
		{name: "AAAA primaries", qname: "fo", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Sydney6.Addr()),
			want: []string{"2001:db8:f::32", "2001:db8:f::31"}, scope: 0},
		{name: "answers 1: the heavier primary", qname: "fo1", ecs: ecs4(geotest.Paris.Addr()), want: []string{"192.0.2.32"}, scope: 0},
		{name: "without ECS", qname: "fo1", want: []string{"192.0.2.32"}},
		{name: "one primary drained", qname: "fo-adrained", ecs: ecs4(geotest.Paris.Addr()), want: []string{"192.0.2.32"}, scope: 0},
		{name: "both primaries drained: secondary", qname: "fo-abdrained", ecs: ecs4(geotest.Paris.Addr()), want: []string{"192.0.2.33"}, scope: 0},
		{name: "both primaries disabled: secondary", qname: "fo-abdisabled", ecs: ecs6(geotest.Tokyo6.Addr()), want: []string{"192.0.2.33"}, scope: 0},
		{name: "health down to the tertiary", qname: "fo-cdown", ecs: ecs4(geotest.Paris.Addr()), want: []string{"192.0.2.34"}, scope: 0},
	}}
}

func TestSteerFailover(t *testing.T) { runTable(t, failoverTable()) }

// allSites: three sites, one with two IPv4 VIPs, one drained.
func allSites() []zones.Site {
	return []zones.Site{
		{Name: "a", VIPs: []string{"192.0.2.41", "192.0.2.42", "2001:db8:f::41"}},
		{Name: "b", VIPs: []string{"192.0.2.43", "2001:db8:f::43"}},
		{Name: "c", VIPs: []string{"192.0.2.44"}},
		{Name: "gone", VIPs: []string{"192.0.2.45", "2001:db8:f::45"}},
	}
}

func allTable() steerTable {
	return steerTable{name: "all", server: func(t testing.TB) *Server {
		return lbServer(t, openGeoDB(t), nil,
			drained(newService(t, "all", zones.PolicyAll, allSites()), zones.SiteDrained, "gone"))
	}, cases: []steerCase{
		{name: "A: every up site's VIPs", qname: "all", ecs: ecs4(geotest.Paris.Addr()), set: true,
			want: []string{"192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"}, scope: 0},
		{name: "AAAA: every up site's IPv6 VIPs", qname: "all", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Tokyo6.Addr()), set: true,
			want: []string{"2001:db8:f::41", "2001:db8:f::43"}, scope: 0},
		{name: "without ECS", qname: "all", set: true, want: []string{"192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"}},
	}}
}

func TestSteerAll(t *testing.T) { runTable(t, allTable()) }

// TestSteerAllRotates: consecutive queries get the same set, each time
// starting at a different address, cycling through every position.
func TestSteerAllRotates(t *testing.T) {
	s := allTable().server(t)
	want := []string{"192.0.2.41", "192.0.2.42", "192.0.2.43", "192.0.2.44"}
	firsts := map[string]bool{}
	prev := ""
	for i := range 8 {
		r := ask(t, s, lbQuestion("all", dns.TypeA, ecs4(geotest.Paris.Addr())), netip.Addr{})
		got := addrsOf(r.Answer)
		if !slices.Equal(sorted(got), want) {
			t.Fatalf("query %d: %v, want the set %v", i, got, want)
		}
		if got[0] == prev {
			t.Errorf("query %d starts with %s again", i, got[0])
		}
		// A rotation keeps the cyclic order.
		k := slices.Index(want, got[0])
		if !slices.Equal(got, append(slices.Clone(want[k:]), want[:k]...)) {
			t.Errorf("query %d: %v is not a rotation of %v", i, got, want)
		}
		prev = got[0]
		firsts[got[0]] = true
	}
	if len(firsts) != len(want) {
		t.Errorf("only %d of %d addresses came first in 8 queries", len(firsts), len(want))
	}
}

// TestSteerWeighted: 10,000 draws land within 3 percentage points of the
// configured 70/20/10 shares; every reply has scope 0. A site of weight 0
// is never drawn while another is up.
func TestSteerWeighted(t *testing.T) {
	sites := []zones.Site{
		{Name: "big", VIPs: []string{"192.0.2.51", "2001:db8:f::51"}, Weight: intp(70)},
		{Name: "mid", VIPs: []string{"192.0.2.52", "2001:db8:f::52"}, Weight: intp(20)},
		{Name: "small", VIPs: []string{"192.0.2.53", "2001:db8:f::53"}, Weight: intp(10)},
		{Name: "zero", VIPs: []string{"192.0.2.54", "2001:db8:f::54"}, Weight: intp(0)},
	}
	s := lbServer(t, openGeoDB(t), nil, newService(t, "weighted", zones.PolicyWeighted, sites))
	shares := map[string]float64{"192.0.2.51": 70, "192.0.2.52": 20, "192.0.2.53": 10,
		"2001:db8:f::51": 70, "2001:db8:f::52": 20, "2001:db8:f::53": 10}
	for _, tc := range []struct {
		qtype uint16
		ecs   netip.Prefix
	}{
		{dns.TypeA, ecs4(geotest.Frankfurt.Addr())},
		{dns.TypeAAAA, ecs6(geotest.Tokyo6.Addr())},
	} {
		t.Run(dns.TypeToString[tc.qtype], func(t *testing.T) {
			const n = 10000
			m := lbQuestion("weighted", tc.qtype, tc.ecs)
			p, _ := m.Pack()
			counts := map[string]int{}
			for range n {
				var r dns.Msg
				s.Handle(Request{Packet: p, Client: testClient}, func(b []byte) error { return r.Unpack(b) })
				got := addrsOf(r.Answer)
				if len(got) != 1 {
					t.Fatalf("%d answers, want 1", len(got))
				}
				if e := replyECS(&r); e == nil || e.SourceScope != 0 {
					t.Fatalf("ECS %v, want scope 0", e)
				}
				counts[got[0]]++
			}
			for a, c := range counts {
				want, ok := shares[a]
				if !ok {
					t.Errorf("%s (weight 0) drawn %d times", a, c)
					continue
				}
				if got := 100 * float64(c) / n; math.Abs(got-want) > 3 {
					t.Errorf("%s: %.1f%% of answers, want %.0f%% ± 3", a, got, want)
				}
			}
			t.Logf("counts %v", counts)
		})
	}
}

// hashSites: three sites weighted 1:2:1.
func hashSites() []zones.Site {
	return []zones.Site{
		{Name: "x", VIPs: []string{"192.0.2.61", "2001:db8:f::61"}, Weight: intp(100)},
		{Name: "y", VIPs: []string{"192.0.2.62", "2001:db8:f::62"}, Weight: intp(200)},
		{Name: "z", VIPs: []string{"192.0.2.63", "2001:db8:f::63"}, Weight: intp(100)},
	}
}

// hashSite asks the hash service for client network ecs and returns the
// answer, checking the scope is the hash prefix length.
func hashSite(t *testing.T, s *Server, qtype uint16, ecs netip.Prefix, src netip.Addr) string {
	t.Helper()
	r := ask(t, s, lbQuestion("hash", qtype, ecs), src)
	got := addrsOf(r.Answer)
	if len(got) != 1 {
		t.Fatalf("%s: %d answers, want 1", ecs, len(got))
	}
	if ecs.IsValid() {
		want := uint8(24)
		if ecs.Addr().Is6() {
			want = 56
		}
		if e := replyECS(r); e == nil || e.SourceScope != want {
			t.Fatalf("%s: ECS %v, want scope %d", ecs, e, want)
		}
	}
	return got[0]
}

// TestSteerHashSticky: every address of a client /24 or /56, sent as ECS of
// any length down to the hash prefix, or as the packet source, gets the
// same site.
func TestSteerHashSticky(t *testing.T) {
	s := lbServer(t, openGeoDB(t), nil, newService(t, "hash", zones.PolicyHash, hashSites()))
	for _, net := range []string{"203.0.113.0/24", "198.18.7.0/24", "2001:db8:77:ab00::/56", "3fff:1:2:300::/56"} {
		t.Run(net, func(t *testing.T) {
			p := pfx(net)
			qt := dns.TypeA
			if p.Addr().Is6() {
				qt = dns.TypeAAAA
			}
			first := hashSite(t, s, qt, p, netip.Addr{})
			a := p.Addr()
			for i := range 40 {
				for range 7 * (i + 1) {
					a = a.Next()
				}
				if !p.Contains(a) {
					break
				}
				for _, bits := range []int{p.Bits(), p.Bits() + 4, a.BitLen()} {
					if got := hashSite(t, s, qt, netip.PrefixFrom(a, bits).Masked(), netip.Addr{}); got != first {
						t.Fatalf("%s/%d got %s, the network got %s", a, bits, got, first)
					}
				}
				if got := hashSite(t, s, qt, netip.Prefix{}, a); got != first {
					t.Fatalf("packet source %s got %s, the network got %s", a, got, first)
				}
			}
		})
	}
}

// hashClients are n distinct client networks of a family: /24s or /56s.
func hashClients(n int, v6 bool) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range n {
		if v6 {
			out[i] = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i), 0x5a, 0}), 56)
		} else {
			out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		}
	}
	return out
}

// TestSteerHashSpreadAndRemoval: 2000 client networks spread over the
// sites roughly per weight; recompiling without a site moves only that
// site's clients, and spreads them over the others.
func TestSteerHashSpreadAndRemoval(t *testing.T) {
	db := openGeoDB(t)
	for _, v6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("v6=%v", v6), func(t *testing.T) {
			qt := dns.TypeA
			if v6 {
				qt = dns.TypeAAAA
			}
			site := func(a string) string {
				return map[string]string{"192.0.2.61": "x", "192.0.2.62": "y", "192.0.2.63": "z",
					"2001:db8:f::61": "x", "2001:db8:f::62": "y", "2001:db8:f::63": "z"}[a]
			}
			full := lbServer(t, db, nil, newService(t, "hash", zones.PolicyHash, hashSites()))
			clients := hashClients(2000, v6)
			before := make([]string, len(clients))
			counts := map[string]int{}
			for i, c := range clients {
				before[i] = site(hashSite(t, full, qt, c, netip.Addr{}))
				counts[before[i]]++
			}
			for name, want := range map[string]float64{"x": 25, "y": 50, "z": 25} {
				if got := 100 * float64(counts[name]) / float64(len(clients)); math.Abs(got-want) > 5 {
					t.Errorf("site %s has %.1f%% of clients, want %.0f%% ± 5", name, got, want)
				}
			}
			t.Logf("spread %v", counts)

			// Recompile without z: z's clients move, nobody else does.
			without := lbServer(t, db, nil, newService(t, "hash", zones.PolicyHash, hashSites()[:2]))
			moved := map[string]int{}
			for i, c := range clients {
				after := site(hashSite(t, without, qt, c, netip.Addr{}))
				switch {
				case before[i] == "z":
					moved[after]++
				case after != before[i]:
					t.Errorf("%s moved from %s to %s though %s is still there", c, before[i], after, before[i])
				}
			}
			if moved["x"] == 0 || moved["y"] == 0 || moved["x"]+moved["y"] != counts["z"] {
				t.Errorf("z's %d clients moved to %v, want spread over x and y", counts["z"], moved)
			}
			// Draining z in the store, rather than deleting it, does the same.
			drainedZ := lbServer(t, db, nil, drained(newService(t, "hash", zones.PolicyHash, hashSites()), zones.SiteDrained, "z"))
			for i, c := range clients[:500] {
				after := site(hashSite(t, drainedZ, qt, c, netip.Addr{}))
				if before[i] != "z" && after != before[i] {
					t.Errorf("%s moved from %s to %s when z was drained", c, before[i], after)
				}
			}
		})
	}
}

func hashTable() steerTable {
	return steerTable{name: "hash", server: func(t testing.TB) *Server {
		return lbServer(t, openGeoDB(t), nil,
			newService(t, "hash", zones.PolicyHash, hashSites()),
			newService(t, "hash2", zones.PolicyHash, hashSites(), answers(3)))
	}, cases: []steerCase{
		// Pinned: a change of hash function would move every client.
		{name: "IPv4 /24 to x", qname: "hash", ecs: pfx("198.51.100.0/24"), want: []string{"192.0.2.61"}, scope: 24},
		{name: "IPv4 /32 in the same /24", qname: "hash", ecs: pfx("198.51.100.200/32"), want: []string{"192.0.2.61"}, scope: 24},
		{name: "IPv4 /24 to y", qname: "hash", ecs: pfx("203.0.113.0/24"), want: []string{"192.0.2.62"}, scope: 24},
		{name: "IPv4 /24 to z", qname: "hash", ecs: pfx("192.0.2.0/24"), want: []string{"192.0.2.63"}, scope: 24},
		{name: "IPv6 /56", qname: "hash", qtype: dns.TypeAAAA, ecs: pfx("2001:db8:77:ab00::/56"), want: []string{"2001:db8:f::61"}, scope: 56},
		{name: "IPv6 /64 in the same /56", qname: "hash", qtype: dns.TypeAAAA, ecs: pfx("2001:db8:77:abcd::/64"), want: []string{"2001:db8:f::61"}, scope: 56},
		{name: "answers 3: rendezvous order", qname: "hash2", ecs: pfx("198.51.100.0/24"), want: []string{"192.0.2.61", "192.0.2.62", "192.0.2.63"}, scope: 24},
		{name: "answers 3, another order", qname: "hash2", ecs: pfx("203.0.113.0/24"), want: []string{"192.0.2.62", "192.0.2.63", "192.0.2.61"}, scope: 24},
		{name: "no ECS: packet source", qname: "hash", src: addr("198.51.100.9"), want: []string{"192.0.2.61"}},
	}}
}

func TestSteerHash(t *testing.T) { runTable(t, hashTable()) }

// nodataTable: AAAA for a service without IPv6 VIPs, and types other than
// A/AAAA at a service name, are NODATA; the zone's static names still work.
func nodataTable() steerTable {
	v4only := []zones.Site{
		{Name: "one", VIPs: []string{"192.0.2.71"}, Location: at(geotest.Frankfurt)},
		{Name: "two", VIPs: []string{"192.0.2.72"}, Location: at(geotest.Tokyo)},
	}
	return steerTable{name: "nodata", server: func(t testing.TB) *Server {
		return lbServer(t, openGeoDB(t), nil,
			newService(t, "v4only", zones.PolicyGeo, v4only),
			newService(t, "geo", zones.PolicyGeo, worldSites()))
	}, cases: []steerCase{
		{name: "A", qname: "v4only", ecs: ecs4(geotest.Tokyo.Addr()), want: []string{"192.0.2.72"}, scope: 20},
		{name: "AAAA without IPv6 VIPs", qname: "v4only", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Tokyo6.Addr()), want: nil, scope: 0},
		{name: "AAAA without IPv6 VIPs, no ECS", qname: "v4only", qtype: dns.TypeAAAA, want: nil},
		{name: "MX at a service", qname: "geo", qtype: dns.TypeMX, ecs: ecs4(geotest.Tokyo.Addr()), want: nil, scope: 0},
		{name: "TXT at a service", qname: "geo", qtype: dns.TypeTXT, want: nil},
		{name: "SOA at a service", qname: "geo", qtype: dns.TypeSOA, want: nil},
		{name: "CNAME at a service", qname: "geo", qtype: dns.TypeCNAME, want: nil},
		{name: "HTTPS at a service", qname: "geo", qtype: dns.TypeHTTPS, ecs: ecs6(geotest.Paris6.Addr()), want: nil, scope: 0},
		{name: "static name", qname: "static", ecs: ecs4(geotest.Tokyo.Addr()), want: []string{"192.0.2.99"}, scope: 0},
	}}
}

func TestSteerNoData(t *testing.T) { runTable(t, nodataTable()) }

// TestSteerCNAME: the CNAME to a service comes first, then the steered
// addresses under the service's name and TTL.
func TestSteerCNAME(t *testing.T) {
	s := geoTable(openGeoDB).server(t)
	r := ask(t, s, lbQuestion("alias", dns.TypeA, ecs4(geotest.Sydney.Addr())), netip.Addr{})
	want := []string{"alias.lb.example.com. 300 IN CNAME geo.lb.example.com.", "geo.lb.example.com. 30 IN A 192.0.2.5"}
	if got := rrStrings(r.Answer); !slices.Equal(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
	if _, ok := r.Answer[0].(*dns.CNAME); !ok {
		t.Errorf("the CNAME is not first: %v", r.Answer)
	}
	// A query for a name below the service does not exist.
	r = ask(t, s, lbQuestion("x.geo", dns.TypeA, netip.Prefix{}), netip.Addr{})
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("below the service: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

// stateTable: drained, disabled and health-down sites leave the answers;
// when no site is up the fallback decides.
func stateTable() steerTable {
	// Sites down by health check, per service; "*" is every site.
	down := map[string]map[string]bool{
		"geo-fradown": {"fra": true},
		"mixed":       {"fra": true, "gru": true, "nrt": true, "syd": true},
		"down-all":    {"*": true}, "down-fo": {"*": true}, "down-none": {"*": true},
		"down-sorry": {"*": true}, "down-sorry4": {"*": true},
	}
	health := func(service, site string) (bool, string) {
		d := down[service[:len(service)-len(lbOrigin)-1]]
		if d["*"] || d[site] {
			return false, "tcp :443: connection refused"
		}
		return true, ""
	}
	sorryBoth := func(s *zones.Service) {
		s.Fallback, s.Sorry = zones.FallbackSorry, []string{"192.0.2.250", "2001:db8::250"}
	}
	sorry4 := func(s *zones.Service) { s.Fallback, s.Sorry = zones.FallbackSorry, []string{"192.0.2.251"} }
	none := func(s *zones.Service) { s.Fallback = zones.FallbackNone }
	return steerTable{name: "state", server: func(t testing.TB) *Server {
		return lbServer(t, openGeoDB(t), health,
			newService(t, "geo", zones.PolicyGeo, worldSites()),
			drained(newService(t, "geo-drained", zones.PolicyGeo, worldSites()), zones.SiteDrained, "fra"),
			drained(newService(t, "geo-disabled", zones.PolicyGeo, worldSites()), zones.SiteDisabled, "fra"),
			newService(t, "geo-fradown", zones.PolicyGeo, worldSites(), answers(2)),
			newService(t, "mixed", zones.PolicyGeo, worldSites()),
			newService(t, "down-all", zones.PolicyGeo, worldSites(), answers(2)),
			newService(t, "down-fo", zones.PolicyFailover, failoverSites(), answers(3)),
			newService(t, "down-none", zones.PolicyGeo, worldSites(), none),
			newService(t, "down-sorry", zones.PolicyGeo, worldSites(), sorryBoth),
			newService(t, "down-sorry4", zones.PolicyGeo, worldSites(), sorry4),
		)
	}, cases: []steerCase{
		{name: "Paris, all up", qname: "geo", ecs: ecs4(geotest.Paris.Addr()), want: vips("fra"), scope: 20},
		{name: "Paris, fra drained: next nearest", qname: "geo-drained", ecs: ecs4(geotest.Paris.Addr()), want: vips("iad"), scope: 20},
		{name: "Paris6, fra disabled", qname: "geo-disabled", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Paris6.Addr()), want: vips("iad6"), scope: 48},
		{name: "Frankfurt, fra health down", qname: "geo-fradown", ecs: ecs4(geotest.Frankfurt.Addr()), want: vips("iad", "nrt"), scope: 16},
		{name: "Tokyo, fra health down: unaffected", qname: "geo-fradown", ecs: ecs4(geotest.Tokyo.Addr()), want: vips("nrt", "syd"), scope: 20},
		{name: "only iad up: everyone gets iad", qname: "mixed", ecs: ecs4(geotest.Tokyo.Addr()), want: vips("iad"), scope: 20},
		// Nothing up: fallback all answers as if every site were up.
		{name: "all down, fallback all: Tokyo as if up", qname: "down-all", ecs: ecs4(geotest.Tokyo.Addr()), want: vips("nrt", "syd"), scope: 20},
		{name: "all down, fallback all: AAAA Paris6", qname: "down-all", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Paris6.Addr()), want: vips("fra6", "iad6"), scope: 48},
		{name: "all down, failover fallback all: primaries", qname: "down-fo", ecs: ecs4(geotest.Tokyo.Addr()), want: []string{"192.0.2.32", "192.0.2.31"}, scope: 0},
		{name: "all down, fallback none: NODATA", qname: "down-none", ecs: ecs4(geotest.Tokyo.Addr()), want: nil, scope: 0},
		{name: "all down, fallback none: AAAA NODATA", qname: "down-none", qtype: dns.TypeAAAA, want: nil},
		{name: "all down, fallback sorry: A", qname: "down-sorry", ecs: ecs4(geotest.Tokyo.Addr()), want: []string{"192.0.2.250"}, scope: 0},
		{name: "all down, fallback sorry: AAAA", qname: "down-sorry", qtype: dns.TypeAAAA, ecs: ecs6(geotest.Tokyo6.Addr()), want: []string{"2001:db8::250"}, scope: 0},
		{name: "all down, fallback sorry IPv4 only: A", qname: "down-sorry4", want: []string{"192.0.2.251"}},
		{name: "all down, fallback sorry IPv4 only: AAAA NODATA", qname: "down-sorry4", qtype: dns.TypeAAAA, want: nil},
	}}
}

func TestSteerSiteState(t *testing.T) { runTable(t, stateTable()) }

// TestSteerConcurrent runs every policy from many goroutines at once (for
// the race detector): the rotation counter, the weighted draws and the
// GeoIP record cache are shared by all queries.
func TestSteerConcurrent(t *testing.T) {
	s := benchServer(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				p := geotest.Places[(g+i)%len(geotest.Places)]
				qt := dns.TypeA
				if i%2 == 1 {
					qt = dns.TypeAAAA
				}
				for _, name := range []string{"geo", "weighted", "failover", "all", "hash"} {
					m := lbQuestion(name, qt, ecsOf(p.Addr()))
					pk, _ := m.Pack()
					var r dns.Msg
					s.Handle(Request{Packet: pk, Client: testClient}, func(b []byte) error { return r.Unpack(b) })
					if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || replyECS(&r) == nil {
						t.Errorf("%s %s from %s: rcode %d, %d answers", name, dns.TypeToString[qt], p.Network, r.Rcode, len(r.Answer))
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// benchServer serves one of each policy for the benchmarks.
func benchServer(b testing.TB) *Server {
	return lbServer(b, openGeoDB(b), nil,
		newService(b, "geo", zones.PolicyGeo, mappedSites()),
		newService(b, "weighted", zones.PolicyWeighted, worldSites()),
		newService(b, "failover", zones.PolicyFailover, worldSites()),
		newService(b, "all", zones.PolicyAll, worldSites()),
		newService(b, "hash", zones.PolicyHash, worldSites()))
}

func benchHandle(b *testing.B, s *Server, m *dns.Msg) {
	p, err := m.Pack()
	if err != nil {
		b.Fatal(err)
	}
	req := Request{Packet: p, Client: netip.AddrPortFrom(geotest.Paris.Addr(), 5353)}
	var n int
	write := func(buf []byte) error { n += len(buf); return nil }
	if _, err := s.Handle(req, write); err != nil || n == 0 {
		b.Fatalf("no reply: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(req, write)
	}
}

func benchSteer(b *testing.B, name string) {
	benchHandle(b, benchServer(b), lbQuestion(name, dns.TypeA, ecs4(geotest.Tokyo.Addr())))
}

func BenchmarkSteerGeo(b *testing.B)      { benchSteer(b, "geo") }
func BenchmarkSteerWeighted(b *testing.B) { benchSteer(b, "weighted") }
func BenchmarkSteerFailover(b *testing.B) { benchSteer(b, "failover") }
func BenchmarkSteerAll(b *testing.B)      { benchSteer(b, "all") }
func BenchmarkSteerHash(b *testing.B)     { benchSteer(b, "hash") }

// BenchmarkStaticA is the baseline: a static A record, the same ECS query.
func BenchmarkStaticA(b *testing.B) { benchSteer(b, "static") }

// TestAAAANoFailOpenWhileASiteIsUp: when a site is up but has no IPv6 VIP,
// AAAA is NODATA; fallback is for a service with no site up at all, and
// must not hand out the IPv6 VIPs of sites that are down.
func TestAAAANoFailOpenWhileASiteIsUp(t *testing.T) {
	sites := []zones.Site{
		{Name: "v4only", VIPs: []string{"192.0.2.41"}},
		{Name: "dual", VIPs: []string{"192.0.2.42", "2001:db8::42"}},
	}
	health := func(_, site string) (bool, string) { return site != "dual", "down" }
	s := lbServer(t, nil, health, newService(t, "mixedfam", zones.PolicyFailover, sites))
	r := ask(t, s, lbQuestion("mixedfam", dns.TypeAAAA, netip.Prefix{}), addr("192.0.2.200"))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("AAAA with an IPv4-only site up: rcode %s, answer %v; want NODATA with the SOA", dns.RcodeToString[r.Rcode], r.Answer)
	}
	r = ask(t, s, lbQuestion("mixedfam", dns.TypeA, netip.Prefix{}), addr("192.0.2.200"))
	if got := addrsOf(r.Answer); len(got) != 1 || got[0] != "192.0.2.41" {
		t.Fatalf("A: got %v, want the up site's 192.0.2.41", got)
	}
}

// TestRankCacheFollowsTheDatabase: cached site ranks are per GeoIP
// network and location, so a client whose network moves (a reloaded
// database) is ranked anew, not from the old entry.
func TestRankCacheFollowsTheDatabase(t *testing.T) {
	sites := []lbSite{
		{name: "fra", loc: geo.Location{Lat: 50.1, Lon: 8.7, HasCoords: true}},
		{name: "nrt", loc: geo.Location{Lat: 35.7, Lon: 139.7, HasCoords: true}},
	}
	var c rankCache
	net := pfx("198.18.0.0/16")
	paris := geo.Location{Lat: 48.9, Lon: 2.35, HasCoords: true}
	tokyo := geo.Location{Lat: 35.7, Lon: 139.7, HasCoords: true}
	a := c.get(net, paris, sites)
	if !(a[0] < a[1]) {
		t.Fatalf("Paris ranks %v, want fra first", a)
	}
	if b := c.get(net, paris, sites); &b[0] != &a[0] {
		t.Error("the same network and place were ranked again, not cached")
	}
	if b := c.get(net, tokyo, sites); !(b[1] < b[0]) {
		t.Fatalf("the network now placed in Tokyo ranks %v, want nrt first", b)
	}
}

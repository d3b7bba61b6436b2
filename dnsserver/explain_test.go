package dnsserver

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/lbdns/lbdns/zones"
)

// deterministicTables are every steering table whose answers do not depend
// on chance (all but weighted).
func deterministicTables() []steerTable {
	return []steerTable{
		geoTable(openGeoDB), mappedTable(openGeoDB), regionsTable(openGeoDB), noDBTable(),
		failoverTable(), allTable(), hashTable(), nodataTable(), stateTable(),
	}
}

// TestExplainAgreesWithServer: for every deterministic case, Explain for
// the same client gives the addresses of the DNS reply (in the same order,
// except for the rotating "all" policy) and the same ECS scope, and
// reports every site consistently with them.
func TestExplainAgreesWithServer(t *testing.T) {
	for _, tab := range deterministicTables() {
		t.Run(tab.name, func(t *testing.T) {
			s := tab.server(t)
			for _, c := range tab.cases {
				qname := c.qname
				if qname == "alias" {
					qname = "geo" // Explain takes the service, not a CNAME to it
				}
				svc := s.Snapshot().services[fqdn(qname)]
				if svc == nil || (c.qt() != dns.TypeA && c.qt() != dns.TypeAAAA) {
					continue // static names and other types: nothing to explain
				}
				t.Run(c.name, func(t *testing.T) {
					r := c.check(t, s)
					d, err := s.Explain(fqdn(qname), c.explainClient(), c.qt())
					if err != nil {
						t.Fatal(err)
					}
					got, want := addrStrings(d.Addrs), addrsOf(r.Answer)
					if c.set {
						got, want = sorted(got), sorted(want)
					}
					if !slices.Equal(got, want) {
						t.Errorf("Explain %v, DNS %v", got, want)
					}
					// A zero ECS source makes the reply scope 0 whatever
					// decided; Explain was asked about the packet source.
					if e := replyECS(r); e != nil && c.ecs.Bits() > 0 && d.Scope != int(e.SourceScope) {
						t.Errorf("Explain scope %d, DNS scope %d", d.Scope, e.SourceScope)
					}
					checkReports(t, svc, d, c.qt())
				})
			}
		})
	}
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// checkReports checks Decision.Sites against the decision: one report per
// site in configuration order, chosen exactly when one of the site's VIPs
// is answered, a reason in words, the site's state, and a distance exactly
// when both ends have coordinates.
func checkReports(t *testing.T, svc *lbService, d Decision, qtype uint16) {
	t.Helper()
	fam := 0
	if qtype == dns.TypeAAAA {
		fam = 1
	}
	if d.Service != svc.name || d.Policy != svc.policy || d.TTL != svc.ttl {
		t.Errorf("decision %s %s ttl %d, want %s %s %d", d.Service, d.Policy, d.TTL, svc.name, svc.policy, svc.ttl)
	}
	if len(d.Sites) != len(svc.sites) {
		t.Fatalf("%d site reports for %d sites", len(d.Sites), len(svc.sites))
	}
	for i, r := range d.Sites {
		s := svc.sites[i]
		if r.Name != s.name || r.State != s.state || r.Weight != s.weight || r.Priority != s.priority {
			t.Errorf("report %d: %+v, site %s state %+v weight %d priority %d", i, r, s.name, s.state, s.weight, s.priority)
		}
		answered := false
		for _, a := range s.vips[fam] {
			answered = answered || slices.Contains(d.Addrs, a)
		}
		if r.Chosen != answered {
			t.Errorf("%s: chosen %v, answered %v", r.Name, r.Chosen, answered)
		}
		prefix := "not chosen: "
		switch {
		case r.Chosen:
			prefix = "chosen: "
		case len(s.vips[fam]) == 0:
			prefix = "no IPv"
		case !s.state.Up && d.Fallback != zones.FallbackAll:
			prefix = "down: " + s.state.Reason
		}
		if !strings.HasPrefix(r.Why, prefix) {
			t.Errorf("%s: why %q, want it to start %q", r.Name, r.Why, prefix)
		}
		wantDist := d.Located && d.Location.HasCoords && s.loc.HasCoords
		if wantDist {
			if want := geo.Distance(d.Location, s.loc); math.Abs(r.DistanceKm-want) > 1e-6 || r.DistanceKm < 0 {
				t.Errorf("%s: distance %.1f km, want %.1f", r.Name, r.DistanceKm, want)
			}
		} else if r.DistanceKm != -1 {
			t.Errorf("%s: distance %.1f km, want -1 (unknown)", r.Name, r.DistanceKm)
		}
	}
}

// report returns the named site's report.
func report(t *testing.T, d Decision, site string) SiteReport {
	t.Helper()
	for _, r := range d.Sites {
		if r.Name == site {
			return r
		}
	}
	t.Fatalf("no report for site %s in %+v", site, d.Sites)
	return SiteReport{}
}

// TestExplainReports pins what `lbdns explain` tells an operator.
func TestExplainReports(t *testing.T) {
	db := openGeoDB(t)
	health := func(service, site string) (bool, string) {
		if strings.HasPrefix(service, "down") || (service == "geo-syddown."+lbOrigin && site == "syd") {
			return false, "http /healthz: 503"
		}
		return true, ""
	}
	sorry := func(s *zones.Service) { s.Fallback, s.Sorry = zones.FallbackSorry, []string{"192.0.2.250"} }
	v4only := []zones.Site{{Name: "one", VIPs: []string{"192.0.2.71"}}, {Name: "two", VIPs: []string{"192.0.2.72", "2001:db8:f::72"}}}
	s := lbServer(t, db, health,
		newService(t, "geo", zones.PolicyGeo, worldSites()),
		newService(t, "mapped", zones.PolicyGeo, mappedSites()),
		drained(newService(t, "geo-fradrained", zones.PolicyGeo, worldSites()), zones.SiteDrained, "fra"),
		newService(t, "geo-syddown", zones.PolicyGeo, worldSites()),
		newService(t, "down-sorry", zones.PolicyGeo, worldSites(), sorry),
		newService(t, "down-all", zones.PolicyGeo, worldSites()),
		newService(t, "fo", zones.PolicyFailover, failoverSites()),
		newService(t, "hash", zones.PolicyHash, hashSites()),
		newService(t, "v4only", zones.PolicyAll, v4only),
	)
	explain := func(name, client string, qtype uint16) Decision {
		t.Helper()
		d, err := s.Explain(name+"."+lbOrigin, pfx(client), qtype)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fraLoc := geo.Location{Lat: geotest.Frankfurt.Lat, Lon: geotest.Frankfurt.Lon, HasCoords: true, Country: "DE", Continent: "EU"}
	iadLoc := geo.Location{Lat: geotest.Ashburn.Lat, Lon: geotest.Ashburn.Lon, HasCoords: true}

	t.Run("geo Frankfurt", func(t *testing.T) {
		d := explain("geo", "198.18.0.0/24", dns.TypeA)
		if !d.Located || d.Location != fraLoc || d.Network != pfx("198.18.0.0/16") || d.Scope != 16 ||
			d.Client != addr("198.18.0.0") || d.TTL != zones.DefaultServiceTTL || d.Fallback != "" {
			t.Errorf("decision %+v", d)
		}
		if r := report(t, d, "fra"); !r.Chosen || r.Why != "chosen: order 1 by distance" || r.DistanceKm > 0.001 || !r.State.Up || r.State.Admin != zones.SiteEnabled {
			t.Errorf("fra: %+v", r)
		}
		r := report(t, d, "iad")
		if r.Chosen || r.Why != "not chosen: order 2 by distance" {
			t.Errorf("iad: %+v", r)
		}
		// Frankfurt to Ashburn is about 6,560 km.
		if want := geo.Distance(fraLoc, iadLoc); r.DistanceKm != want || want < 6400 || want > 6700 {
			t.Errorf("iad: distance %.0f km, want %.0f (about 6,560)", r.DistanceKm, want)
		}
	})
	t.Run("country-only client has no distances", func(t *testing.T) {
		d := explain("geo", "100.67.0.0/24", dns.TypeA)
		if !d.Located || d.Location.HasCoords || d.Location.Country != "DE" || d.Scope != 24 {
			t.Errorf("decision %+v", d)
		}
		for _, r := range d.Sites {
			if r.DistanceKm != -1 {
				t.Errorf("%s: distance %v, want -1", r.Name, r.DistanceKm)
			}
		}
		if !report(t, d, "fra").Chosen {
			t.Error("fra not chosen for a German client")
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		d := explain("geo", geotest.UnknownV4.String()+"/32", dns.TypeA)
		if d.Located || d.Scope != 17 || d.Network != pfx("198.19.128.0/17") {
			t.Errorf("decision %+v", d)
		}
		if r := report(t, d, "nrt"); !r.Chosen || r.Why != "chosen: client location unknown: order 1 by priority, then weight" {
			t.Errorf("nrt: %+v", r)
		}
		if r := report(t, d, "iad"); r.Chosen || r.Why != "not chosen: client location unknown: order 2 by priority, then weight" {
			t.Errorf("iad: %+v", r)
		}
	})
	t.Run("CIDR map", func(t *testing.T) {
		d := explain("mapped", "198.18.5.0/24", dns.TypeA)
		if d.Network != pfx("198.18.5.0/24") || d.Scope != 24 {
			t.Errorf("decision %+v", d)
		}
		if r := report(t, d, "syd"); !r.Chosen || r.Why != "chosen: client is in 198.18.5.0/24, mapped to this site" {
			t.Errorf("syd: %+v", r)
		}
	})
	t.Run("drained", func(t *testing.T) {
		d := explain("geo-fradrained", "198.18.0.0/24", dns.TypeA)
		r := report(t, d, "fra")
		if r.Chosen || r.State != (SiteStatus{Admin: zones.SiteDrained, Reason: "site is drained"}) || r.Why != "down: site is drained" {
			t.Errorf("fra: %+v", r)
		}
		if !report(t, d, "iad").Chosen {
			t.Error("iad, next nearest, not chosen")
		}
	})
	t.Run("health down", func(t *testing.T) {
		d := explain("geo-syddown", "100.66.0.0/24", dns.TypeA)
		r := report(t, d, "syd")
		if r.Chosen || r.State != (SiteStatus{Admin: zones.SiteEnabled, Reason: "http /healthz: 503"}) || r.Why != "down: http /healthz: 503" {
			t.Errorf("syd: %+v", r)
		}
		if !report(t, d, "nrt").Chosen {
			t.Errorf("nrt, next nearest to Sydney, not chosen: %v", d.Addrs)
		}
	})
	t.Run("fallback sorry", func(t *testing.T) {
		d := explain("down-sorry", "100.66.0.0/24", dns.TypeA)
		if d.Fallback != zones.FallbackSorry || !slices.Equal(d.Addrs, []netip.Addr{addr("192.0.2.250")}) {
			t.Errorf("decision %+v", d)
		}
		for _, r := range d.Sites {
			if r.Chosen || r.Why != "down: http /healthz: 503; fallback sorry" {
				t.Errorf("%s: %+v", r.Name, r)
			}
		}
	})
	t.Run("fallback all", func(t *testing.T) {
		d := explain("down-all", "100.66.0.0/24", dns.TypeA)
		if d.Fallback != zones.FallbackAll || !slices.Equal(addrStrings(d.Addrs), vips("syd")) {
			t.Errorf("decision %+v", d)
		}
		if r := report(t, d, "syd"); !r.Chosen || r.Why != "chosen: order 1 by distance; answered because fallback is all" {
			t.Errorf("syd: %+v", r)
		}
	})
	t.Run("failover", func(t *testing.T) {
		d := explain("fo", "198.18.0.0/24", dns.TypeA)
		if d.Scope != 0 || d.Network.IsValid() {
			t.Errorf("decision %+v", d)
		}
		if r := report(t, d, "b"); !r.Chosen || r.Why != "chosen: priority 0" {
			t.Errorf("b: %+v", r)
		}
		if r := report(t, d, "a"); r.Chosen || r.Why != "not chosen: priority 0" {
			t.Errorf("a: %+v", r)
		}
		if r := report(t, d, "c"); r.Chosen || r.Why != "not chosen: priority 1 (a lower priority value is up)" {
			t.Errorf("c: %+v", r)
		}
	})
	t.Run("hash", func(t *testing.T) {
		d := explain("hash", "203.0.113.77/32", dns.TypeA)
		if d.Network != pfx("203.0.113.0/24") || d.Scope != 24 {
			t.Errorf("decision %+v", d)
		}
		chosen := 0
		for _, r := range d.Sites {
			if r.Chosen {
				chosen++
				if r.Why != "chosen: hash rank 1 for 203.0.113.0/24" {
					t.Errorf("%s: %+v", r.Name, r)
				}
			} else if !strings.HasPrefix(r.Why, "not chosen: hash rank ") {
				t.Errorf("%s: %+v", r.Name, r)
			}
		}
		if chosen != 1 {
			t.Errorf("%d sites chosen", chosen)
		}
	})
	t.Run("no IPv6 VIP", func(t *testing.T) {
		d := explain("v4only", "2001:db8:2::/56", dns.TypeAAAA)
		if r := report(t, d, "one"); r.Chosen || r.Why != "no IPv6 VIP" {
			t.Errorf("one: %+v", r)
		}
		if r := report(t, d, "two"); !r.Chosen || r.Why != "chosen: every up site is answered" {
			t.Errorf("two: %+v", r)
		}
	})
	t.Run("not a service", func(t *testing.T) {
		for _, name := range []string{"static", "alias", "nope", "geo.other.test."} {
			if d, err := s.Explain(fqdn(name), pfx("198.18.0.0/24"), dns.TypeA); err == nil {
				t.Errorf("Explain(%s) = %+v, want an error", name, d)
			}
		}
		// Names are matched case-insensitively and without the final dot.
		if _, err := s.Explain("GEO.lb.Example.com", pfx("198.18.0.0/24"), dns.TypeA); err != nil {
			t.Errorf("Explain of a mixed-case name: %v", err)
		}
	})
}

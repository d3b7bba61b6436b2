package dnsserver

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/zones"
)

// lbService is a load-balanced name compiled for steering. It is immutable
// except for the rotation counter of the "all" policy.
type lbService struct {
	name     string
	zone     *zone
	ttl      uint32
	policy   string
	answers  int
	fallback string
	sorry    [2][]netip.Addr // by family: 0 IPv4, 1 IPv6
	sites    []lbSite
	clients  *geo.PrefixMap // client network → index into sites
	rotate   *atomic.Uint32
	ranks    *rankCache // geo: site ranks per GeoIP network
}

// lbSite is one site of a service, with its state at compile time.
type lbSite struct {
	name     string
	vips     [2][]netip.Addr // by family
	loc      geo.Location
	weight   int
	priority int
	state    SiteStatus
}

// SiteStatus is why a site is or is not answered.
type SiteStatus struct {
	Up     bool   `json:"up"`
	Admin  string `json:"admin"`            // enabled, drained, disabled
	Reason string `json:"reason,omitempty"` // why it is down, for explain
}

// SiteHealth reports whether health checks consider a site up. A nil
// SiteHealth means every site is up (no checks).
type SiteHealth func(service, site string) (up bool, reason string)

// family indexes the per-family address lists.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// compileService turns a stored service into its steering form.
func compileService(ss zones.StoredService, z *zone, health SiteHealth) (*lbService, error) {
	svc := &lbService{
		name: ss.Name, zone: z, ttl: ss.TTL, policy: ss.Policy, answers: ss.Answers,
		fallback: ss.Fallback, rotate: new(atomic.Uint32), ranks: new(rankCache),
	}
	for _, s := range ss.Sorry {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("service %s: sorry %q: %w", ss.Name, s, err)
		}
		svc.sorry[family(a)] = append(svc.sorry[family(a)], a)
	}
	var entries []geo.PrefixEntry
	for i, st := range ss.Sites {
		site, err := compileSite(st)
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", ss.Name, err)
		}
		site.state = siteStatus(ss, st.Name, health)
		svc.sites = append(svc.sites, site)
		for _, c := range st.Clients {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("service %s: site %s: client %q: %w", ss.Name, st.Name, c, err)
			}
			entries = append(entries, geo.PrefixEntry{Prefix: p, Value: i})
		}
	}
	m, err := geo.NewPrefixMap(entries)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", ss.Name, err)
	}
	svc.clients = m
	return svc, nil
}

func compileSite(st zones.Site) (lbSite, error) {
	site := lbSite{name: st.Name, priority: st.Priority, weight: zones.DefaultSiteWeight}
	if st.Weight != nil {
		site.weight = *st.Weight
	}
	for _, v := range st.VIPs {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return site, fmt.Errorf("site %s: vip %q: %w", st.Name, v, err)
		}
		site.vips[family(a)] = append(site.vips[family(a)], a.Unmap())
	}
	if l := st.Location; l != nil {
		site.loc = geo.Location{Country: l.Country, Continent: l.Continent}
		if l.Lat != nil && l.Lon != nil {
			site.loc.Lat, site.loc.Lon, site.loc.HasCoords = *l.Lat, *l.Lon, true
		}
	}
	return site, nil
}

// siteStatus combines admin state and health into whether a site is up.
func siteStatus(ss zones.StoredService, site string, health SiteHealth) SiteStatus {
	st := SiteStatus{Up: true, Admin: zones.SiteEnabled}
	if a := ss.Admin[site]; a != "" && a != zones.SiteEnabled {
		return SiteStatus{Admin: a, Reason: "site is " + a}
	}
	if health != nil {
		if up, why := health(ss.Name, site); !up {
			st.Up, st.Reason = false, why
		}
	}
	return st
}

package ipvsbridge

import (
	"net/netip"
	"slices"

	"github.com/lbdns/lbdns/healthcheck"
	"github.com/lbdns/lbdns/zones"
)

// WeightsFunc returns the desired weights of a site's real servers (the
// health checker's Weights); nil means the configured weights.
type WeightsFunc func(service, site string) []healthcheck.ServerWeight

// Desired builds the IPVS state for the sites this host directs: one
// virtual service per VIP of each local site with a director, its real
// servers at the weights health gives (0 when unhealthy or drained).
// Real servers of another address family than the VIP are left out: NAT
// and DR cannot cross families, and moby/ipvs cannot set up mixed TUN.
func Desired(svcs []zones.StoredService, local []string, weights WeightsFunc) []Service {
	var out []Service
	for _, ss := range svcs {
		for _, site := range ss.Sites {
			if site.Director == nil || !slices.Contains(local, site.Name) {
				continue
			}
			w := map[netip.AddrPort]healthcheck.ServerWeight{}
			if weights != nil {
				for _, sw := range weights(ss.Name, site.Name) {
					w[sw.Server] = sw
				}
			}
			for _, vip := range site.VIPs {
				if s, ok := siteService(site, vip, w, weights != nil, ss.Admin[site.Name]); ok {
					out = append(out, s)
				}
			}
		}
	}
	sortServices(out)
	return out
}

// VirtualServiceFor is the virtual service a site's director has for vip.
func VirtualServiceFor(d *zones.Director, vip netip.Addr) VirtualService {
	return VirtualService{Addr: vip.Unmap(), Port: uint16(d.Port), Protocol: d.Protocol, Scheduler: d.Scheduler,
		Persistence: uint32(d.Persistence)}
}

func siteService(site zones.Site, vipText string, w map[netip.AddrPort]healthcheck.ServerWeight, haveWeights bool, admin string) (Service, bool) {
	vip, err := netip.ParseAddr(vipText)
	if err != nil {
		return Service{}, false
	}
	d := site.Director
	s := Service{VirtualService: VirtualServiceFor(d, vip)}
	for _, rs := range site.RealServers {
		a, err := netip.ParseAddr(rs.Address)
		if err != nil || a.Is4() != s.Addr.Is4() {
			continue
		}
		port := rs.Port
		if port == 0 {
			port = d.Port
		}
		ap := netip.AddrPortFrom(a, uint16(port))
		weight := 1
		if rs.Weight != nil {
			weight = *rs.Weight
		}
		unsettled := false
		if haveWeights {
			sw, listed := w[ap]
			weight, unsettled = sw.Weight, listed && !sw.Settled
		} else if admin == zones.SiteDrained || admin == zones.SiteDisabled {
			weight = 0
		}
		s.Reals = append(s.Reals, RealServer{Addr: a, Port: uint16(port), Weight: min(weight, MaxWeight), Forward: d.Mode, Unsettled: unsettled})
	}
	return s, true
}

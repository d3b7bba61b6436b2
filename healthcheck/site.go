package healthcheck

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/lbdns/lbdns/zones"
)

type siteKey struct{ service, site string }

// siteRec is what the checker knows of one site: which targets decide its
// health, and the health it last derived from them.
type siteRec struct {
	admin      string
	minHealthy int
	servers    []serverRec
	vipKeys    []string
	up         bool
	since      time.Time
	reason     string
}

// serverRec is a real server of a site; key is empty when it is not probed.
type serverRec struct {
	addr   netip.AddrPort
	weight int
	key    string
}

func newSiteRec(ss zones.StoredService, site zones.Site, ts []Target) *siteRec {
	s := &siteRec{admin: ss.Admin[site.Name], minHealthy: weightOf(site.MinHealthy, 1)}
	if s.admin == "" {
		s.admin = zones.SiteEnabled
	}
	probed := map[netip.AddrPort]string{}
	for _, t := range ts {
		if t.Site != site.Name {
			continue
		}
		if t.VIP {
			s.vipKeys = append(s.vipKeys, t.Key())
		} else {
			probed[t.Server] = t.Key()
		}
	}
	for _, rs := range site.RealServers {
		a, _ := netip.ParseAddr(rs.Address)
		port := rs.Port
		if port == 0 && site.Director != nil {
			port = site.Director.Port
		}
		ap := netip.AddrPortFrom(a, uint16(port))
		s.servers = append(s.servers, serverRec{addr: ap, weight: weightOf(rs.Weight, 1), key: probed[ap]})
	}
	return s
}

// recomputeLocked derives every site's health from its targets and logs
// the sites that changed. c.mu is held.
func (c *Checker) recomputeLocked(now time.Time) {
	for k := range c.sites {
		c.recomputeSiteLocked(k, now)
	}
}

// recomputeSiteLocked derives one site's health. c.mu is held.
func (c *Checker) recomputeSiteLocked(k siteKey, now time.Time) {
	s := c.sites[k]
	if s == nil {
		return // a target of a service removed since it started probing
	}
	up, reason := c.siteHealthLocked(s)
	if up == s.up && reason == s.reason {
		return
	}
	if up != s.up {
		s.since = now
		c.log.Info("health: site "+upDown(up), "service", k.service, "site", k.site, "reason", reason)
	}
	s.up, s.reason = up, reason
}

// siteHealthLocked says whether enough of a site's real servers are
// healthy and its VIP checks pass, and if not, why.
func (c *Checker) siteHealthLocked(s *siteRec) (bool, string) {
	healthy, probed, lastErr := 0, 0, ""
	for _, rs := range s.servers {
		if rs.key == "" {
			continue
		}
		probed++
		r := c.runners[rs.key]
		if r != nil && r.st.up {
			healthy++
		} else if r != nil && lastErr == "" {
			lastErr = fmt.Sprintf("%s: %s", rs.addr, orNotYet(r.st))
		}
	}
	if probed > 0 && healthy < s.minHealthy {
		return false, fmt.Sprintf("%d of %d real servers healthy, need %d (%s)", healthy, probed, s.minHealthy, lastErr)
	}
	for _, k := range s.vipKeys {
		if r := c.runners[k]; r == nil || !r.st.up {
			if r == nil {
				return false, "VIP check not running"
			}
			return false, fmt.Sprintf("VIP check %s failed: %s", r.t.Server.Addr(), orNotYet(r.st))
		}
	}
	return true, ""
}

func orNotYet(st targetState) string {
	switch {
	case st.lastErr != "":
		return st.lastErr
	case st.probes == 0:
		return "no probe yet"
	default:
		return fmt.Sprintf("passed %d, needs rise", st.successes)
	}
}

// SiteUp reports whether health checks consider the site up, and why not.
// Sites without checks are up. Admin state is not considered here: DNS
// applies it from the store.
func (c *Checker) SiteUp(service, site string) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sites[siteKey{service, site}]
	if s == nil {
		return true, ""
	}
	return s.up, s.reason
}

// ServerWeight is a real server's desired IPVS weight.
type ServerWeight struct {
	Server  netip.AddrPort `json:"server"`
	Weight  int            `json:"weight"`  // the configured weight when healthy, else 0
	Healthy bool           `json:"healthy"` // true for servers that are not probed
	// Settled is false while a probed server's first probes have not yet
	// decided its state (fewer than min(rise, fall) results): its initial
	// state is a default, not a finding, and should not overwrite a
	// weight the kernel already has (after a restart, say).
	Settled bool `json:"settled"`
}

// Weights returns the desired IPVS weights of a site's real servers: the
// configured weight when healthy (or unprobed) and the site enabled, 0 when
// unhealthy, drained or disabled.
func (c *Checker) Weights(service, site string) []ServerWeight {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sites[siteKey{service, site}]
	if s == nil {
		return nil
	}
	out := make([]ServerWeight, 0, len(s.servers))
	for _, rs := range s.servers {
		healthy, settled := true, true
		if rs.key != "" {
			r := c.runners[rs.key]
			healthy = r != nil && r.st.up
			settled = r != nil && r.st.probes >= uint64(min(r.t.Spec.Rise, r.t.Spec.Fall))
		}
		w := rs.weight
		if !healthy || s.admin != zones.SiteEnabled {
			w = 0
		}
		out = append(out, ServerWeight{Server: rs.addr, Weight: w, Healthy: healthy, Settled: settled || s.admin != zones.SiteEnabled})
	}
	return out
}

package dnsserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo"
)

// report fills in, when explaining, how every site fared.
func (st *steerer) report() {
	if !st.explain {
		return
	}
	chosen := map[int]bool{}
	for _, i := range st.cands {
		for _, a := range st.svc.sites[i].vips[st.fam] {
			if slices.Contains(st.d.Addrs, a) {
				chosen[i] = true
			}
		}
	}
	for i, s := range st.svc.sites {
		r := SiteReport{Name: s.name, State: s.state, Weight: s.weight, Priority: s.priority, DistanceKm: -1, Chosen: chosen[i]}
		if st.d.Located && s.loc.HasCoords && st.d.Location.HasCoords {
			r.DistanceKm = geo.Distance(st.d.Location, s.loc)
		}
		r.Why = st.why(i, s, chosen[i])
		st.d.Sites = append(st.d.Sites, r)
	}
}

// why says in words why site i was or was not chosen.
func (st *steerer) why(i int, s lbSite, chosen bool) string {
	fam := "IPv4"
	if st.fam == 1 {
		fam = "IPv6"
	}
	switch {
	case len(s.vips[st.fam]) == 0:
		return "no " + fam + " VIP"
	case !s.state.Up && st.d.Fallback == "":
		return "down: " + s.state.Reason
	case !s.state.Up && st.d.Fallback != "all":
		return "down: " + s.state.Reason + "; fallback " + st.d.Fallback
	}
	pos := slices.Index(st.cands, i)
	verdict := "not chosen"
	if chosen {
		verdict = "chosen"
	}
	var how string
	switch st.svc.policy {
	case "geo":
		how = st.geoWhy(i, pos)
	case "weighted":
		how = fmt.Sprintf("weighted draw, weight %d", s.weight)
	case "failover":
		how = fmt.Sprintf("priority %d", s.priority)
		if pos < 0 {
			how += " (a lower priority value is up)"
		}
	case "hash":
		how = fmt.Sprintf("hash rank %d for %s", pos+1, st.d.Network)
	default:
		how = "every up site is answered"
	}
	if !s.state.Up {
		how += "; answered because fallback is all"
	}
	return verdict + ": " + how
}

func (st *steerer) geoWhy(i, pos int) string {
	if e, ok := st.svc.clients.Lookup(st.client); ok && e.Value == i {
		return fmt.Sprintf("client is in %s, mapped to this site", e.Prefix)
	}
	if !st.d.Located {
		return fmt.Sprintf("client location unknown: order %d by priority, then weight", pos+1)
	}
	if !st.d.Location.HasCoords {
		return fmt.Sprintf("order %d by country, then continent", pos+1)
	}
	return fmt.Sprintf("order %d by distance", pos+1)
}

// Explain steers name for client exactly as a query would, with reasons.
// client may be an address or an ECS prefix (203.0.113.0/24).
func (s *Server) Explain(name string, client netip.Prefix, qtype uint16) (Decision, error) {
	snap := s.snap.Load()
	svc := snap.services[dns.CanonicalName(name)]
	if svc == nil {
		return Decision{}, fmt.Errorf("%s is not a load-balanced service", strings.TrimSpace(name))
	}
	fam := 0
	if qtype == dns.TypeAAAA {
		fam = 1
	}
	d := svc.steer(client.Masked().Addr(), fam, s.cfg.Geo, true)
	d.Place = s.cfg.Geo.Describe(d.Client)
	return d, nil
}

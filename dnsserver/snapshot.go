// Package dnsserver answers DNS queries authoritatively from an immutable,
// compiled snapshot of the zones. The query path reads the snapshot through
// an atomic pointer: no locks, no store access and no I/O per query.
package dnsserver

import (
	"fmt"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// Snapshot is the compiled, read-only form of every served zone. It is never
// modified after it is built, so any number of queries may read it while a
// newer one is being built; a newer one shares whatever did not change.
type Snapshot struct {
	zones    map[string]*zone      // by origin
	services map[string]*lbService // load-balanced names
	stored   []zones.StoredService // what services were compiled from
	health   SiteHealth
}

// zone is one served zone: every owner name as a node, including empty
// non-terminals, so existence checks are one lookup.
type zone struct {
	origin string
	soa    *dns.SOA
	negTTL uint32 // min(SOA TTL, SOA MINIMUM), RFC 2308 §5
	apex   *node
	nodes  *nodeTable
}

// Compile builds a snapshot from the stored zones and services, with site
// states from health (nil: every site not drained or disabled is up).
func Compile(zs []*zones.Zone, svcs []zones.StoredService, health SiteHealth) (*Snapshot, error) {
	s := &Snapshot{zones: make(map[string]*zone, len(zs))}
	for _, z := range zs {
		cz, err := compileZone(z, svcs)
		if err != nil {
			return nil, err
		}
		s.zones[cz.origin] = cz
	}
	if err := s.compileServices(svcs, health); err != nil {
		return nil, err
	}
	return s, nil
}

// compileServices (re)builds the steering form of every service.
func (s *Snapshot) compileServices(svcs []zones.StoredService, health SiteHealth) error {
	s.stored, s.health = svcs, health
	s.services = make(map[string]*lbService, len(svcs))
	for _, ss := range svcs {
		name := dns.CanonicalName(ss.Name)
		z := s.findZone(name)
		if z == nil {
			continue // its zone was deleted; nothing to answer
		}
		svc, err := compileService(ss, z, health)
		if err != nil {
			return err
		}
		s.services[name] = svc
	}
	return nil
}

// WithHealth returns a snapshot with the same zones and site states taken
// anew from health: a health change costs the services, not the zones.
func (s *Snapshot) WithHealth(health SiteHealth) (*Snapshot, error) {
	n := &Snapshot{zones: s.zones}
	if err := n.compileServices(s.stored, health); err != nil {
		return nil, err
	}
	return n, nil
}

func compileZone(z *zones.Zone, svcs []zones.StoredService) (*zone, error) {
	origin := dns.CanonicalName(z.Origin)
	zb := &zoneBuilder{origin: origin, b: newBuilder(nil)}
	recs := z.Records
	for len(recs) > 0 {
		name := dns.CanonicalName(recs[0].Header().Name)
		n := 1
		for n < len(recs) && dns.CanonicalName(recs[n].Header().Name) == name {
			n++
		}
		if !dns.IsSubDomain(origin, name) {
			return nil, fmt.Errorf("zone %s: record %s is outside the zone", origin, name)
		}
		run := recs[:n:n]
		if old := zb.b.get(name); old != nil {
			run = append(old.records(), run...) // the same owner again, out of order
		}
		zb.set(name, run)
		recs = recs[n:]
	}
	zb.setServices(nil, svcs)
	return zb.finish()
}

// records returns all of the node's records.
func (n *node) records() []dns.RR {
	var out []dns.RR
	for _, s := range n.sets {
		out = append(out, s.rrs...)
	}
	return out
}

// parent strips the first label: "a.b.c." → "b.c.", "c." → ".", "." → "".
func parent(name string) string {
	if name == "." {
		return ""
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return ""
	}
	return name[i:]
}

// findZone returns the served zone with the longest origin containing name
// (lower-case, fully qualified), or nil.
func (s *Snapshot) findZone(name string) *zone {
	for n := name; n != ""; n = parent(n) {
		if z := s.zones[n]; z != nil {
			return z
		}
	}
	return nil
}

// parentZone returns the zone that holds the delegation of origin, if served.
func (s *Snapshot) parentZone(origin string) *zone {
	if p := parent(origin); p != "" {
		return s.findZone(p)
	}
	return nil
}

// Zones returns the served origins.
func (s *Snapshot) Zones() []string {
	out := make([]string, 0, len(s.zones))
	for o := range s.zones {
		out = append(out, o)
	}
	return out
}

package dnsserver

import (
	"fmt"
	"maps"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// zoneBuilder builds or edits one zone's node table, keeping empty
// non-terminals: a name's ancestors exist while it does, and an ancestor
// that holds nothing of its own goes when its last child does.
type zoneBuilder struct {
	origin string
	b      *builder
}

// set makes name hold exactly rrs (none: the name goes, unless it is an
// empty non-terminal or a service).
func (zb *zoneBuilder) set(name string, rrs []dns.RR) {
	zb.update(name, func(n *node) *node { return n.withRecords(rrs, zb.origin) })
}

// setLB marks or unmarks name as a load-balanced service.
func (zb *zoneBuilder) setLB(name string, lb bool) {
	zb.update(name, func(n *node) *node { c := *n; c.lb = lb; return &c })
}

// update replaces the node at name with edit's copy of it.
func (zb *zoneBuilder) update(name string, edit func(*node) *node) {
	old := zb.b.get(name)
	fresh := old == nil
	if fresh {
		old = &node{name: name}
	}
	n := edit(old)
	switch {
	case n.empty() && n.children == 0 && name != zb.origin:
		if !fresh {
			zb.b.del(name)
			zb.unlink(name)
		}
	default:
		zb.b.put(n)
		if fresh {
			zb.link(name)
		}
	}
}

// link counts a new name as its parent's child, creating the parent (an
// empty non-terminal) and its own ancestors as needed.
func (zb *zoneBuilder) link(name string) {
	p := parent(name)
	if name == zb.origin || p == "" {
		return
	}
	pn := zb.b.get(p)
	fresh := pn == nil
	if fresh {
		pn = &node{name: p}
	}
	c := *pn
	c.children++
	zb.b.put(&c)
	if fresh {
		zb.link(p)
	}
}

// unlink uncounts a removed name; a parent left empty and childless goes.
func (zb *zoneBuilder) unlink(name string) {
	p := parent(name)
	if name == zb.origin || p == "" {
		return
	}
	pn := zb.b.get(p)
	if pn == nil {
		return
	}
	c := *pn
	c.children--
	if c.empty() && c.children == 0 && p != zb.origin {
		zb.b.del(p)
		zb.unlink(p)
		return
	}
	zb.b.put(&c)
}

// setServices moves the service marks from the old services' names to the
// new ones' (those in this zone).
func (zb *zoneBuilder) setServices(old, svcs []zones.StoredService) {
	want := map[string]bool{}
	for _, ss := range svcs {
		if n := dns.CanonicalName(ss.Name); dns.IsSubDomain(zb.origin, n) {
			want[n] = true
		}
	}
	for _, ss := range old {
		if n := dns.CanonicalName(ss.Name); !want[n] && dns.IsSubDomain(zb.origin, n) {
			if nd := zb.b.get(n); nd != nil && nd.lb {
				zb.setLB(n, false)
			}
		}
	}
	for n := range want {
		if nd := zb.b.get(n); nd == nil || !nd.lb {
			zb.setLB(n, true)
		}
	}
}

// finish freezes the table into a zone.
func (zb *zoneBuilder) finish() (*zone, error) {
	z := &zone{origin: zb.origin, nodes: zb.b.t}
	z.apex = z.nodes.get(zb.origin)
	if z.apex == nil {
		return nil, fmt.Errorf("zone %s: no records at the apex", zb.origin)
	}
	soas := z.apex.get(dns.TypeSOA)
	if len(soas) != 1 {
		return nil, fmt.Errorf("zone %s: want one SOA at the apex, have %d", zb.origin, len(soas))
	}
	z.soa = soas[0].(*dns.SOA)
	z.negTTL = min(z.soa.Hdr.Ttl, z.soa.Minttl)
	return z, nil
}

// Patch is a change to apply to a snapshot without recompiling it.
type Patch struct {
	// Zones to replace whole (nil: the zone is gone).
	Zones map[string]*zones.Zone
	// Names to replace, by zone: every record each name now holds (none:
	// the name is gone). A changed SOA comes as its apex name.
	Names map[string]map[string][]dns.RR
	// Services, when set, replaces every service.
	Services *[]zones.StoredService
}

// Apply returns a snapshot with p applied and site states from health.
// Zones and shards it does not touch are shared with s, so a one-record
// change in a zone of a million names copies one shard of about four
// thousand.
func (s *Snapshot) Apply(p Patch, health SiteHealth) (*Snapshot, error) {
	n := &Snapshot{zones: maps.Clone(s.zones)}
	svcs := s.stored
	if p.Services != nil {
		svcs = *p.Services
	}
	for origin, z := range p.Zones {
		origin = dns.CanonicalName(origin)
		if z == nil {
			delete(n.zones, origin)
			continue
		}
		cz, err := compileZone(z, svcs)
		if err != nil {
			return nil, err
		}
		n.zones[origin] = cz
	}
	for origin, names := range p.Names {
		z := n.zones[dns.CanonicalName(origin)]
		if z == nil {
			continue // also replaced or deleted whole above
		}
		zb := &zoneBuilder{origin: z.origin, b: newBuilder(z.nodes)}
		for name, rrs := range names {
			zb.set(dns.CanonicalName(name), rrs)
		}
		cz, err := zb.finish()
		if err != nil {
			return nil, err
		}
		n.zones[z.origin] = cz
	}
	if p.Services != nil {
		for origin, z := range n.zones {
			zb := &zoneBuilder{origin: origin, b: newBuilder(z.nodes)}
			zb.setServices(s.stored, svcs)
			cz, err := zb.finish()
			if err != nil {
				return nil, err
			}
			n.zones[origin] = cz
		}
	}
	if err := n.compileServices(svcs, health); err != nil {
		return nil, err
	}
	return n, nil
}

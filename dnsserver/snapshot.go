// Package dnsserver answers DNS queries authoritatively from an immutable,
// compiled snapshot of the zones. The query path reads the snapshot through
// an atomic pointer: no locks, no store access and no I/O per query.
package dnsserver

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// Snapshot is the compiled, read-only form of every served zone. It is never
// modified after Compile returns, so any number of queries may read it while
// a newer one is being built.
type Snapshot struct {
	zones    map[string]*zone      // by origin
	services map[string]*lbService // load-balanced names
	stored   []zones.StoredService // what services were compiled from
}

// zone is one served zone: every owner name as a node, including empty
// non-terminals, so existence checks are one map lookup.
type zone struct {
	origin  string
	soa     *dns.SOA
	negTTL  uint32 // min(SOA TTL, SOA MINIMUM), RFC 2308 §5
	apex    *node
	nodes   map[string]*node
	records []dns.RR // canonical order, SOA first: the AXFR body
}

// node is one owner name. An empty node (no rrsets) is an empty non-terminal.
type node struct {
	name   string
	rrsets map[uint16][]dns.RR
	cut    bool // a delegation point: NS below the apex
	lb     bool // a load-balanced service: A/AAAA are steered
}

// Compile builds a snapshot from the stored zones and services, with site
// states from health (nil: every site not drained or disabled is up).
func Compile(zs []*zones.Zone, svcs []zones.StoredService, health SiteHealth) (*Snapshot, error) {
	s := &Snapshot{zones: make(map[string]*zone, len(zs))}
	for _, z := range zs {
		cz, err := compileZone(z)
		if err != nil {
			return nil, err
		}
		s.zones[cz.origin] = cz
	}
	for _, ss := range svcs {
		if z := s.findZone(dns.CanonicalName(ss.Name)); z != nil {
			z.ensure(dns.CanonicalName(ss.Name)).lb = true
		}
	}
	return s, s.compileServices(svcs, health)
}

// compileServices (re)builds the steering form of every service.
func (s *Snapshot) compileServices(svcs []zones.StoredService, health SiteHealth) error {
	s.stored = svcs
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

func compileZone(z *zones.Zone) (*zone, error) {
	origin := dns.CanonicalName(z.Origin)
	cz := &zone{origin: origin, nodes: make(map[string]*node, len(z.Records)), records: z.Records}
	for _, rr := range z.Records {
		name := dns.CanonicalName(rr.Header().Name)
		if !dns.IsSubDomain(origin, name) {
			return nil, fmt.Errorf("zone %s: record %s is outside the zone", origin, name)
		}
		n := cz.ensure(name)
		t := rr.Header().Rrtype
		n.rrsets[t] = append(n.rrsets[t], rr)
	}
	cz.apex = cz.nodes[origin]
	if cz.apex == nil {
		return nil, fmt.Errorf("zone %s: no records at the apex", origin)
	}
	soas := cz.apex.rrsets[dns.TypeSOA]
	if len(soas) != 1 {
		return nil, fmt.Errorf("zone %s: want one SOA at the apex, have %d", origin, len(soas))
	}
	cz.soa = soas[0].(*dns.SOA)
	cz.negTTL = min(cz.soa.Hdr.Ttl, cz.soa.Minttl)
	for name, n := range cz.nodes {
		n.cut = name != origin && len(n.rrsets[dns.TypeNS]) > 0
	}
	return cz, nil
}

// ensure returns the node for name, creating it and every missing ancestor
// up to the apex (the empty non-terminals).
func (z *zone) ensure(name string) *node {
	n := z.nodes[name]
	if n != nil {
		return n
	}
	n = &node{name: name, rrsets: make(map[uint16][]dns.RR, 1)}
	z.nodes[name] = n
	for p := parent(name); p != "" && dns.IsSubDomain(z.origin, p); p = parent(p) {
		if _, ok := z.nodes[p]; ok {
			break
		}
		z.nodes[p] = &node{name: p, rrsets: make(map[uint16][]dns.RR)}
	}
	return n
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

// Zone reports whether origin is served, and its SOA serial.
func (s *Snapshot) Zone(origin string) (serial uint32, ok bool) {
	z := s.zones[strings.ToLower(dns.Fqdn(origin))]
	if z == nil {
		return 0, false
	}
	return z.soa.Serial, true
}

// Zones returns the served origins.
func (s *Snapshot) Zones() []string {
	out := make([]string, 0, len(s.zones))
	for o := range s.zones {
		out = append(out, o)
	}
	return out
}

package dnsserver

import (
	"net/netip"
	"slices"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo"
)

// maxCNAMEChain bounds how many CNAMEs one answer follows; loops stop earlier.
const maxCNAMEChain = 12

// result is the outcome of an authoritative lookup, before packing.
type result struct {
	rcode    int
	aa       bool
	referral bool  // the additional section holds required glue
	scope    uint8 // ECS scope: the client prefix length the answer depended on
	// A steered answer: addresses the packer writes as A/AAAA records of
	// lbOwner after the answer section's records.
	lbAddrs []netip.Addr
	lbOwner string
	lbTTL   uint32
	answer  []dns.RR
	ns      []dns.RR
	extra   []dns.RR
}

// query is what a lookup needs to know about the question.
type query struct {
	name   string // as asked (case preserved), fully qualified
	lname  string // lower-case form of name
	qtype  uint16
	tcp    bool
	client netip.Addr // for steering: ECS address or packet source
	geo    *geo.DB
	snap   *Snapshot
}

// lookup answers q from the snapshot. ok is false when no served zone
// contains the name (the caller answers REFUSED).
func (s *Snapshot) lookup(q query) (res result, ok bool) {
	z := s.findZone(q.lname)
	if z == nil {
		return res, false
	}
	if q.qtype == dns.TypeDS && q.lname == z.origin {
		// DS lives on the parent side of a cut (RFC 4035 §3.1.4.1), when
		// we serve the parent and it delegates the child.
		if pz := s.parentZone(z.origin); pz != nil {
			if n := pz.nodes.get(z.origin); n != nil && n.cut {
				z = pz
			}
		}
	}
	res.aa = true
	q.snap = s
	var seenBuf [maxCNAMEChain + 1]string // names visited: a loop stops the chase
	seen := seenBuf[:0]
	for hop := 0; ; hop++ {
		seen = append(seen, q.lname)
		target, done := z.answer(q, &res, hop == 0)
		if done || hop >= maxCNAMEChain || slices.Contains(seen, target) {
			return res, true
		}
		// Follow the CNAME inside the zones we serve.
		nz := s.findZone(target)
		if nz == nil {
			return res, true
		}
		z = nz
		q.name, q.lname = target, target
	}
}

// answer adds to res what zone z holds for q. When the name is (or is
// synthesised from) a CNAME that must be followed it returns the target.
func (z *zone) answer(q query, res *result, first bool) (cnameTarget string, done bool) {
	n, ce := z.find(q.lname)
	if cut := z.cutAbove(q.lname, q.qtype); cut != nil {
		z.referral(cut, res, first)
		return "", true
	}
	owner := q.lname
	if n == nil {
		wc := z.nodes.get(wildcardOf(ce.name))
		if wc == nil {
			res.rcode = dns.RcodeNameError
			res.ns = append(res.ns, z.negSOA())
			return "", true
		}
		n, owner = wc, q.name // RFC 4592 §3.3.1: the owner is the query name
	}
	res.rcode = dns.RcodeSuccess
	if n.lb {
		z.steered(q, n, res)
		return "", true
	}
	if cn := n.get(dns.TypeCNAME); len(cn) > 0 && q.qtype != dns.TypeCNAME && q.qtype != dns.TypeANY {
		res.answer = append(res.answer, withOwner(cn, owner, n.name)...)
		return dns.CanonicalName(cn[0].(*dns.CNAME).Target), false
	}
	var rrs []dns.RR
	if q.qtype == dns.TypeANY {
		rrs = n.any(q.tcp)
	} else {
		rrs = n.get(q.qtype)
	}
	if len(rrs) == 0 {
		res.ns = append(res.ns, z.negSOA())
		return "", true
	}
	res.answer = append(res.answer, withOwner(rrs, owner, n.name)...)
	if q.qtype == dns.TypeNS && n == z.apex {
		res.extra = append(res.extra, z.glue(rrs)...)
	}
	return "", true
}

// find returns the node for name, or nil and the closest encloser.
func (z *zone) find(name string) (n, closest *node) {
	for p := name; p != ""; p = parent(p) {
		if n := z.nodes.get(p); n != nil {
			if p == name {
				return n, n
			}
			return nil, n
		}
	}
	return nil, z.apex
}

// cutAbove returns the topmost delegation point at or above name, below the
// apex. A DS query at the cut itself is answered from this (parent) side.
func (z *zone) cutAbove(name string, qtype uint16) *node {
	var cut *node
	for p := name; p != z.origin && p != ""; p = parent(p) {
		n := z.nodes.get(p)
		if n == nil || !n.cut {
			continue
		}
		if p == name && qtype == dns.TypeDS {
			continue
		}
		cut = n
	}
	return cut
}

// referral puts the child's NS set in authority and its glue in additional.
// Authority stays with the zone only when a CNAME led here.
func (z *zone) referral(cut *node, res *result, first bool) {
	if first {
		res.aa = false
	}
	res.rcode = dns.RcodeSuccess
	res.referral = true
	ns := cut.get(dns.TypeNS)
	res.ns = append(res.ns, ns...)
	res.extra = append(res.extra, z.glue(ns)...)
}

// glue returns the A and AAAA records this zone holds for the NS targets.
func (z *zone) glue(ns []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range ns {
		t := dns.CanonicalName(rr.(*dns.NS).Ns)
		if n := z.nodes.get(t); n != nil {
			out = append(out, n.get(dns.TypeA)...)
			out = append(out, n.get(dns.TypeAAAA)...)
		}
	}
	return out
}

// negSOA is the SOA for a negative answer, its TTL capped by MINIMUM.
func (z *zone) negSOA() dns.RR {
	if z.negTTL == z.soa.Hdr.Ttl {
		return z.soa
	}
	soa := *z.soa
	soa.Hdr.Ttl = z.negTTL
	return &soa
}

// any returns the node's records for an ANY query: all of them over TCP, and
// over UDP one RRset only (RFC 8482 §4.1), which keeps the reply small.
func (n *node) any(tcp bool) []dns.RR {
	var out []dns.RR
	for _, set := range n.sets { // in type order
		out = append(out, set.rrs...)
		if !tcp {
			break
		}
	}
	return out
}

// withOwner returns rrs, copied with a new owner when it differs from the
// stored one (wildcard synthesis).
func withOwner(rrs []dns.RR, owner, stored string) []dns.RR {
	if owner == stored {
		return rrs
	}
	out := make([]dns.RR, len(rrs))
	for i, rr := range rrs {
		w, packed := rr.(*wireRR)
		if packed {
			rr = w.RR
		}
		c := dns.Copy(rr)
		c.Header().Name = owner
		if packed {
			c = &wireRR{RR: c, rdata: w.rdata}
		}
		out[i] = c
	}
	return out
}

// wildcardOf returns the wildcard name directly below name (RFC 4592 §2.1.1).
func wildcardOf(name string) string {
	if name == "." {
		return "*."
	}
	return "*." + name
}

// steered answers a load-balanced name: A and AAAA from the steering
// decision, NODATA for other types and when nothing is to be answered.
func (z *zone) steered(q query, n *node, res *result) {
	svc := q.snap.services[n.name]
	fam := -1
	switch q.qtype {
	case dns.TypeA, dns.TypeANY:
		fam = 0
	case dns.TypeAAAA:
		fam = 1
	}
	if svc == nil || fam < 0 {
		res.ns = append(res.ns, z.negSOA())
		return
	}
	d := svc.steer(q.client, fam, q.geo, false)
	res.scope = uint8(d.Scope)
	if len(d.Addrs) == 0 {
		res.ns = append(res.ns, z.negSOA())
		return
	}
	res.lbAddrs, res.lbOwner, res.lbTTL = d.Addrs, n.name, svc.ttl
}

package dnsserver

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/lbdns/lbdns/zones"
)

// ecsServer serves the world geo service, a hash service and the static
// names of lbZone.
func ecsServer(t testing.TB) *Server {
	return lbServer(t, openGeoDB(t), nil,
		newService(t, "geo", zones.PolicyGeo, worldSites()),
		newService(t, "hash", zones.PolicyHash, hashSites()),
		newService(t, "fo", zones.PolicyFailover, failoverSites()))
}

// TestECSMalformed: RFC 7871 §7.1.1, a malformed ECS option gets FORMERR,
// whatever the name. The options are built by hand: miekg/dns refuses to
// pack most of them.
func TestECSMalformed(t *testing.T) {
	s := ecsServer(t)
	tests := []struct {
		name   string
		family uint16
		source uint8
		scope  uint8
		addr   []byte
	}{
		{name: "family 3", family: 3, source: 24, addr: []byte{198, 18, 0}},
		{name: "family 0 with a source prefix", family: 0, source: 8, addr: []byte{198}},
		{name: "IPv4 source prefix 33", family: 1, source: 33, addr: []byte{198, 18, 0, 1, 0}},
		{name: "IPv6 source prefix 129", family: 2, source: 129, addr: make([]byte, 17)},
		{name: "IPv4 bits set past /24", family: 1, source: 24, addr: []byte{198, 18, 0, 1}},
		{name: "IPv4 bits set past /20", family: 1, source: 20, addr: []byte{198, 19, 15}},
		{name: "IPv4 bits set with source 0", family: 1, source: 0, addr: []byte{1}},
		{name: "IPv6 bits set past /56", family: 2, source: 56, addr: []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 1}},
		{name: "IPv6 bits set past /48", family: 2, source: 48, addr: []byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0x80}},
	}
	for _, tt := range tests {
		for _, qname := range []string{"geo", "static", "nope"} {
			t.Run(tt.name+" "+qname, func(t *testing.T) {
				m := rawECSQuestion(qname, dns.TypeA, tt.family, tt.source, tt.scope, tt.addr)
				r := ask(t, s, m, netip.Addr{})
				if r.Rcode != dns.RcodeFormatError {
					t.Fatalf("rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
				}
				if len(r.Answer) != 0 || replyECS(r) != nil {
					t.Errorf("FORMERR with answers %v, ECS %v", r.Answer, replyECS(r))
				}
			})
		}
	}

	// Two ECS options in one query.
	m := lbQuestion("geo", dns.TypeA, pfx("198.18.0.0/24"))
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IP{100, 65, 0, 0}})
	if r := ask(t, s, m, netip.Addr{}); r.Rcode != dns.RcodeFormatError {
		t.Errorf("two ECS options: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}

	// The hand-built option, well formed, is accepted: the raw path is sound.
	r := ask(t, s, rawECSQuestion("geo", dns.TypeA, 1, 20, 0, []byte{100, 65, 0}), netip.Addr{})
	if got := addrsOf(r.Answer); r.Rcode != dns.RcodeSuccess || len(got) != 1 || got[0] != worldVIPs["nrt"] {
		t.Errorf("well-formed raw ECS 100.65.0.0/20: rcode %s answer %v", dns.RcodeToString[r.Rcode], got)
	}
	if e := replyECS(r); e == nil || e.SourceScope != 20 || e.SourceNetmask != 20 {
		t.Errorf("well-formed raw ECS: reply ECS %v, want source and scope 20", e)
	}
}

// TestECSEcho: the reply's option echoes the query's family, source prefix
// and address (RFC 7871 §7.2.1), with the scope the answer depended on: the
// GeoIP network (geo), the hash prefix (hash), 0 for answers that depend on
// no client (failover, static names, NXDOMAIN, NODATA).
func TestECSEcho(t *testing.T) {
	s := ecsServer(t)
	tests := []struct {
		qname string
		qtype uint16
		ecs   string
		rcode int
		scope uint8
	}{
		{"geo", dns.TypeA, "198.18.0.0/24", dns.RcodeSuccess, 16},
		{"geo", dns.TypeA, "198.18.0.0/20", dns.RcodeSuccess, 16},
		// A scope longer than the source: the answer holds for Frankfurt's
		// /16 only (RFC 7871 §7.2.1 allows this; the resolver caches it
		// for the /15 it asked about).
		{"geo", dns.TypeA, "198.18.0.0/15", dns.RcodeSuccess, 16},
		// Only the /8's network address is known, and it lies in no place:
		// the empty GeoIP network it falls in, 198.0.0.0/12, decides.
		{"geo", dns.TypeA, "198.18.0.0/8", dns.RcodeSuccess, 12},
		{"geo", dns.TypeA, "198.18.9.77/32", dns.RcodeSuccess, 16},
		{"geo", dns.TypeAAAA, "100.65.0.0/24", dns.RcodeSuccess, 20},
		{"geo", dns.TypeA, "2001:db8:2::/56", dns.RcodeSuccess, 48},
		{"geo", dns.TypeA, "2001:db8:2::/40", dns.RcodeSuccess, 48},
		{"geo", dns.TypeAAAA, "3fff:3:1:2:3:4:5:6/128", dns.RcodeSuccess, 32},
		{"hash", dns.TypeA, "203.0.113.0/24", dns.RcodeSuccess, 24},
		{"hash", dns.TypeA, "203.0.113.128/25", dns.RcodeSuccess, 24},
		{"hash", dns.TypeAAAA, "2001:db8:99:aa00::/56", dns.RcodeSuccess, 56},
		{"hash", dns.TypeAAAA, "2001:db8:99:aa00::/64", dns.RcodeSuccess, 56},
		{"fo", dns.TypeA, "198.18.0.0/24", dns.RcodeSuccess, 0},
		{"fo", dns.TypeAAAA, "2001:db8:2::/56", dns.RcodeSuccess, 0},
		{"static", dns.TypeA, "198.18.0.0/24", dns.RcodeSuccess, 0},
		{"static", dns.TypeAAAA, "2001:db8:2::/56", dns.RcodeSuccess, 0},
		{"static", dns.TypeMX, "198.18.0.0/24", dns.RcodeSuccess, 0},
		{"nope", dns.TypeA, "198.18.0.0/24", dns.RcodeNameError, 0},
		{"geo", dns.TypeTXT, "198.18.0.0/24", dns.RcodeSuccess, 0},
		{"www.elsewhere.test.", dns.TypeA, "198.18.0.0/24", dns.RcodeRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.qname+" "+dns.TypeToString[tt.qtype]+" "+tt.ecs, func(t *testing.T) {
			ecs := pfx(tt.ecs)
			r := ask(t, s, lbQuestion(tt.qname, tt.qtype, ecs.Masked()), netip.Addr{})
			if r.Rcode != tt.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			checkEcho(t, r, ecs.Masked(), tt.scope)
		})
	}
}

// checkEcho checks a reply's ECS option against the query's network.
func checkEcho(t *testing.T, r *dns.Msg, ecs netip.Prefix, scope uint8) {
	t.Helper()
	e := replyECS(r)
	if e == nil {
		t.Fatal("reply has no ECS option")
	}
	fam := uint16(1)
	if ecs.Addr().Is6() {
		fam = 2
	}
	a, ok := netip.AddrFromSlice(e.Address)
	if fam == 1 {
		a = a.Unmap()
	}
	if e.Family != fam || int(e.SourceNetmask) != ecs.Bits() || !ok || a != ecs.Addr() {
		t.Errorf("reply ECS family %d source /%d address %s, want %d /%d %s", e.Family, e.SourceNetmask, a, fam, ecs.Bits(), ecs.Addr())
	}
	if e.SourceScope != scope {
		t.Errorf("reply ECS scope /%d, want /%d", e.SourceScope, scope)
	}
}

// TestECSSourceZero: a zero-length source prefix (a resolver that will not
// reveal the client) steers on the packet source, and the scope is 0 so the
// answer is cached for everyone. dig's +subnet=0 sends family 0 and no
// address; it is echoed as sent.
func TestECSSourceZero(t *testing.T) {
	s := ecsServer(t)
	for _, tt := range []struct {
		name   string
		m      *dns.Msg
		family uint16
		src    netip.Addr
		want   string
	}{
		{"IPv4 0.0.0.0/0 from Tokyo", lbQuestion("geo", dns.TypeA, pfx("0.0.0.0/0")), 1, geotest.Tokyo.Addr(), "nrt"},
		{"IPv6 ::/0 from SaoPaulo6", lbQuestion("geo", dns.TypeA, pfx("::/0")), 2, geotest.SaoPaulo6.Addr(), "gru"},
		{"IPv4 0/0 from Sydney6", lbQuestion("geo", dns.TypeA, pfx("0.0.0.0/0")), 1, geotest.Sydney6.Addr(), "syd"},
		{"family 0 (dig +subnet=0) from Paris", rawECSQuestion("geo", dns.TypeA, 0, 0, 0, nil), 0, geotest.Paris.Addr(), "fra"},
		{"family 0 from an IPv4-mapped source", rawECSQuestion("geo", dns.TypeA, 0, 0, 0, nil), 0, netip.AddrFrom16(geotest.NewYork.Addr().As16()), "iad"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ask(t, s, tt.m, tt.src)
			if got := addrsOf(r.Answer); len(got) != 1 || got[0] != worldVIPs[tt.want] {
				t.Errorf("answer %v (%v), want %s", got, sitesOf(got), tt.want)
			}
			e := replyECS(r)
			if e == nil || e.SourceScope != 0 || e.SourceNetmask != 0 {
				t.Fatalf("reply ECS %v, want source 0 scope 0", e)
			}
			if e.Family != tt.family {
				t.Errorf("family %d echoed as %d", tt.family, e.Family)
			}
		})
	}
	// A hash answer from a zero source prefix varies with the resolver, yet
	// is still cacheable for everyone: scope 0, not 24.
	r := ask(t, s, lbQuestion("hash", dns.TypeA, pfx("0.0.0.0/0")), addr("203.0.113.9"))
	if e := replyECS(r); e == nil || e.SourceScope != 0 {
		t.Errorf("hash with source 0: ECS %v, want scope 0", e)
	}
}

// TestECSAbsent: without ECS the packet source steers and the reply carries
// no ECS option, with EDNS or without.
func TestECSAbsent(t *testing.T) {
	s := ecsServer(t)
	for _, edns := range []bool{true, false} {
		m := lbQuestion("geo", dns.TypeA, netip.Prefix{})
		if !edns {
			m.Extra = nil
		}
		r := ask(t, s, m, geotest.Sydney.Addr())
		if got := addrsOf(r.Answer); len(got) != 1 || got[0] != worldVIPs["syd"] {
			t.Errorf("edns %v: answer %v, want syd", edns, sitesOf(got))
		}
		if (r.IsEdns0() != nil) != edns || replyECS(r) != nil {
			t.Errorf("edns %v: reply OPT %v", edns, r.IsEdns0())
		}
	}
	// An IPv4-mapped packet source (a dual-stack socket) is the IPv4 client.
	r := ask(t, s, lbQuestion("geo", dns.TypeA, netip.Prefix{}), netip.AddrFrom16(geotest.Tokyo.Addr().As16()))
	if got := addrsOf(r.Answer); len(got) != 1 || got[0] != worldVIPs["nrt"] {
		t.Errorf("IPv4-mapped source in Tokyo: answer %v, want nrt", sitesOf(got))
	}
}

// TestECSIPv4Mapped: an IPv6 ECS network inside ::ffff:0:0/96 is steered as
// the IPv4 network it carries, and its scope is in IPv6 terms (96 + the
// IPv4 length) since the option's family is IPv6: a resolver caching the
// answer for ::ffff:198.18.0.0/16 would hand Frankfurt's site to all of
// ::/16.
func TestECSIPv4Mapped(t *testing.T) {
	s := ecsServer(t)
	for _, tt := range []struct {
		qname string
		ecs   string
		want  string
		scope uint8
	}{
		{"geo", "::ffff:198.18.0.0/120", "192.0.2.1", 96 + 16},
		{"geo", "::ffff:100.65.0.0/116", "192.0.2.4", 96 + 20},
		{"hash", "::ffff:198.51.100.0/120", "192.0.2.61", 96 + 24},
		{"fo", "::ffff:203.0.113.0/120", "192.0.2.32", 0},
	} {
		t.Run(tt.ecs, func(t *testing.T) {
			ecs := pfx(tt.ecs)
			r := ask(t, s, lbQuestion(tt.qname, dns.TypeA, ecs), netip.Addr{})
			if got := addrsOf(r.Answer); len(got) != 1 || got[0] != tt.want {
				t.Errorf("answer %v, want %s", got, tt.want)
			}
			checkEcho(t, r, ecs, tt.scope)
			d, err := s.Explain(tt.qname+"."+lbOrigin, ecs, dns.TypeA)
			if err != nil || d.Scope != int(tt.scope) {
				t.Errorf("Explain scope %d (%v), want %d", d.Scope, err, tt.scope)
			}
		})
	}
}

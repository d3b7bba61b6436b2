package dnsserver

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/lbdns/lbdns/zones"
)

// The zone load-balanced services live in for these tests.
const lbOrigin = "lb.example.com."

const lbZone = `$ORIGIN lb.example.com.
@        3600 IN SOA ns1 hostmaster 2026120101 3600 600 1209600 60
@        3600 IN NS  ns1
ns1      3600 IN A   192.0.2.53
static    300 IN A   192.0.2.99
static    300 IN AAAA 2001:db8::99
alias     300 IN CNAME geo
`

// lbSOA is the negative-answer SOA of lbZone (TTL capped by MINIMUM).
const lbSOA = "lb.example.com. 60 IN SOA ns1.lb.example.com. hostmaster.lb.example.com. 2026120101 3600 600 1209600 60"

// openGeoDB writes every geotest place into a City database in a temporary
// directory and opens it, as `lbdns serve --geoip` would.
func openGeoDB(t testing.TB) *geo.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, geotest.Places); err != nil {
		t.Fatal(err)
	}
	db, err := geo.Open(path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func intp(v int) *int           { return &v }
func floatp(v float64) *float64 { return &v }

// at is a site location with coordinates, country and continent.
func at(p geotest.Place) *zones.SiteLoc {
	return &zones.SiteLoc{Lat: floatp(p.Lat), Lon: floatp(p.Lon), Country: p.Country, Continent: p.Continent}
}

// worldSites are five sites on five continents, each with one IPv4 and one
// IPv6 VIP. With an unknown client location the order is priority, then
// weight: nrt, iad, fra, gru, syd.
func worldSites() []zones.Site {
	return []zones.Site{
		{Name: "fra", VIPs: []string{"192.0.2.1", "2001:db8:f::1"}, Location: at(geotest.Frankfurt), Priority: 1},
		{Name: "iad", VIPs: []string{"192.0.2.2", "2001:db8:f::2"}, Location: at(geotest.Ashburn), Priority: 0, Weight: intp(100)},
		{Name: "gru", VIPs: []string{"192.0.2.3", "2001:db8:f::3"}, Location: at(geotest.SaoPaulo), Priority: 2},
		{Name: "nrt", VIPs: []string{"192.0.2.4", "2001:db8:f::4"}, Location: at(geotest.Tokyo), Priority: 0, Weight: intp(200)},
		{Name: "syd", VIPs: []string{"192.0.2.5", "2001:db8:f::5"}, Location: at(geotest.Sydney), Priority: 2, Weight: intp(50)},
	}
}

// vip is the address a world site answers in a family: "fra" → 192.0.2.1,
// "fra6" → 2001:db8:f::1.
var worldVIPs = map[string]string{
	"fra": "192.0.2.1", "iad": "192.0.2.2", "gru": "192.0.2.3", "nrt": "192.0.2.4", "syd": "192.0.2.5",
	"fra6": "2001:db8:f::1", "iad6": "2001:db8:f::2", "gru6": "2001:db8:f::3", "nrt6": "2001:db8:f::4", "syd6": "2001:db8:f::5",
}

// vips maps world site names (see worldVIPs) to their addresses.
func vips(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		a, ok := worldVIPs[n]
		if !ok {
			panic("no world site " + n)
		}
		out[i] = a
	}
	return out
}

// siteOf returns the name of the world site whose VIP a is.
func siteOf(a string) string {
	for n, v := range worldVIPs {
		if v == a {
			if len(n) == 4 {
				return n[:3]
			}
			return n
		}
	}
	return "?" + a
}

// newService builds and validates a service in lbOrigin; name is relative.
func newService(t testing.TB, name, policy string, sites []zones.Site, edit ...func(*zones.Service)) zones.StoredService {
	t.Helper()
	svc := zones.Service{Name: name + "." + lbOrigin, Policy: policy, Sites: sites}
	for _, e := range edit {
		e(&svc)
	}
	if err := zones.ValidateService(&svc); err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return zones.StoredService{Service: svc, Zone: lbOrigin}
}

func answers(n int) func(*zones.Service) { return func(s *zones.Service) { s.Answers = n } }

// drained marks sites drained (or another admin state) in a stored service.
func drained(ss zones.StoredService, state string, sites ...string) zones.StoredService {
	ss.Admin = map[string]string{}
	for _, s := range sites {
		ss.Admin[s] = state
	}
	return ss
}

// lbSnapshot compiles lbZone with svcs.
func lbSnapshot(t testing.TB, health SiteHealth, svcs ...zones.StoredService) *Snapshot {
	t.Helper()
	snap, err := Compile([]*zones.Zone{parseZone(t, lbOrigin, lbZone)}, svcs, health)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// lbServer serves lbZone with svcs, locating clients in db.
func lbServer(t testing.TB, db *geo.DB, health SiteHealth, svcs ...zones.StoredService) *Server {
	t.Helper()
	return New(Config{Geo: db, Logger: slog.New(slog.DiscardHandler)}, lbSnapshot(t, health, svcs...))
}

// lbQuestion is a query for name (relative to lbOrigin unless it ends in a
// dot) with EDNS and, when ecs is valid, an ECS option for that network.
func lbQuestion(name string, qtype uint16, ecs netip.Prefix) *dns.Msg {
	m := question(fqdn(name), qtype)
	m.SetEdns0(1232, false)
	if ecs.IsValid() {
		o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(ecs.Bits()), Address: ecs.Addr().AsSlice()}
		if ecs.Addr().Is6() {
			o.Family = 2
		}
		m.IsEdns0().Option = append(m.IsEdns0().Option, o)
	}
	return m
}

func fqdn(name string) string {
	if name != "" && name[len(name)-1] == '.' {
		return name
	}
	return name + "." + lbOrigin
}

// rawECSQuestion is a query whose ECS option is given as raw bytes, so it
// can be malformed: miekg/dns checks EDNS0_SUBNET when packing.
func rawECSQuestion(name string, qtype uint16, family uint16, source, scope uint8, addr []byte) *dns.Msg {
	m := question(fqdn(name), qtype)
	m.SetEdns0(1232, false)
	data := binary.BigEndian.AppendUint16(nil, family)
	data = append(data, source, scope)
	data = append(data, addr...)
	m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: data})
	return m
}

// ask runs m through Handle as if it came from src and returns the reply.
func ask(t testing.TB, s *Server, m *dns.Msg, src netip.Addr) *dns.Msg {
	t.Helper()
	p, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !src.IsValid() {
		src = testClient.Addr()
	}
	var out [][]byte
	if _, err := s.Handle(Request{Packet: p, Client: netip.AddrPortFrom(src, 40000)}, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("%d replies, want 1", len(out))
	}
	r := new(dns.Msg)
	if err := r.Unpack(out[0]); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if r.Id != m.Id || !r.Response {
		t.Fatalf("reply id %d qr %v to query %d", r.Id, r.Response, m.Id)
	}
	return r
}

// addrsOf returns the A and AAAA addresses of an answer section, in order.
func addrsOf(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return out
}

// replyECS returns the ECS option of a reply, or nil.
func replyECS(r *dns.Msg) *dns.EDNS0_SUBNET {
	opt := r.IsEdns0()
	if opt == nil {
		return nil
	}
	for _, o := range opt.Option {
		if e, ok := o.(*dns.EDNS0_SUBNET); ok {
			return e
		}
	}
	return nil
}

// steerCase is one query to a load-balanced name and what it must get.
type steerCase struct {
	name  string
	qname string       // relative to lbOrigin
	qtype uint16       // default A
	ecs   netip.Prefix // client network sent as ECS; invalid: none
	src   netip.Addr   // packet source; invalid: testClient
	want  []string     // addresses in answer order; nil: NODATA
	set   bool         // want is compared as a set (the "all" policy)
	scope int          // the reply's ECS scope, when ecs is set
}

func (c steerCase) qt() uint16 {
	if c.qtype == 0 {
		return dns.TypeA
	}
	return c.qtype
}

// explainClient is the prefix to give Explain for the same client the query
// steers on: the ECS network, or the packet source.
func (c steerCase) explainClient() netip.Prefix {
	if c.ecs.IsValid() && c.ecs.Bits() > 0 {
		return c.ecs
	}
	src := c.src
	if !src.IsValid() {
		src = testClient.Addr()
	}
	return netip.PrefixFrom(src, src.BitLen())
}

// steerTable is a server and the deterministic queries it answers.
type steerTable struct {
	name   string
	server func(t testing.TB) *Server
	cases  []steerCase
}

// check runs one case through the packet path and checks the reply.
func (c steerCase) check(t *testing.T, s *Server) *dns.Msg {
	t.Helper()
	r := ask(t, s, lbQuestion(c.qname, c.qt(), c.ecs), c.src)
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		t.Fatalf("rcode %s aa %v, want NOERROR aa", dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	got := addrsOf(r.Answer)
	want := c.want
	if c.set {
		got, want = sorted(got), sorted(want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("answer %v (%v), want %v (%v)", got, sitesOf(got), want, sitesOf(want))
	}
	if len(c.want) == 0 {
		if ns := rrStrings(r.Ns); len(ns) != 1 || ns[0] != lbSOA {
			t.Errorf("NODATA authority %v, want the SOA", ns)
		}
	}
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != dns.TypeCNAME && rr.Header().Rrtype != c.qt() {
			t.Errorf("answer record of the wrong type: %v", rr)
		}
	}
	e := replyECS(r)
	switch {
	case !c.ecs.IsValid() && e != nil:
		t.Errorf("reply carries ECS %v to a query without it", e)
	case c.ecs.IsValid() && e == nil:
		t.Errorf("reply lacks the ECS option")
	case c.ecs.IsValid() && int(e.SourceScope) != c.scope:
		t.Errorf("ECS scope /%d, want /%d", e.SourceScope, c.scope)
	}
	return r
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func sitesOf(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = siteOf(a)
	}
	return out
}

// ecs4 and ecs6 are the ECS networks a resolver sends for an address: its
// /24 or /56.
func ecs4(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 24).Masked() }
func ecs6(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 56).Masked() }

// ecsOf is the resolver-sized ECS network for a's family.
func ecsOf(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return ecs4(a)
	}
	return ecs6(a)
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

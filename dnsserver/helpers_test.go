package dnsserver

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

const exampleZone = `$ORIGIN example.com.
@        3600 IN SOA ns1 hostmaster 2026112601 3600 600 1209600 300
@        3600 IN NS  ns1
@        3600 IN NS  ns2.other.net.
ns1      3600 IN A   192.0.2.53
www       300 IN A   192.0.2.10
www       300 IN A   192.0.2.11
www       300 IN AAAA 2001:db8::10
a.b.c     300 IN A   192.0.2.20
alias     300 IN CNAME www
chain1    300 IN CNAME chain2
chain2    300 IN CNAME alias
loop1     300 IN CNAME loop2
loop2     300 IN CNAME loop1
dangling  300 IN CNAME nothere
outside   300 IN CNAME www.other.net.
toother   300 IN CNAME www.sub.example.com.
todeleg   300 IN CNAME host.child
*.wild    300 IN A   192.0.2.30
*.wild    300 IN TXT "wild"
exists.wild 300 IN A 192.0.2.31
deep.below.wild 300 IN A 192.0.2.32
*.wc      300 IN CNAME www
child    3600 IN NS  ns1.child
child    3600 IN NS  ns.other.net.
child    3600 IN DS  12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ns1.child 3600 IN A  192.0.2.60
ns1.child 3600 IN AAAA 2001:db8::60
sub      3600 IN NS  ns1.example.com.
sub      3600 IN DS  7 8 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789
other    3600 IN NS  ns1.example.com.
big       300 IN TXT "%s"
big       300 IN TXT "%s1"
`

const subZone = `$ORIGIN sub.example.com.
@        3600 IN SOA ns1.example.com. hostmaster.example.com. 7 3600 600 1209600 60
@        3600 IN NS  ns1.example.com.
www       300 IN A   192.0.2.40
`

// parseZone parses a master file for tests that need no store.
func parseZone(t testing.TB, origin, text string) *zones.Zone {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "test")
	z := &zones.Zone{Origin: origin}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rr.Header().Name = strings.ToLower(rr.Header().Name)
		z.Records = append(z.Records, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return z
}

func testSnapshot(t testing.TB) *Snapshot {
	t.Helper()
	long := strings.Repeat("x", 250)
	ex := strings.Replace(strings.Replace(exampleZone, "%s", long, 1), "%s", long, 1)
	snap, err := Compile([]*zones.Zone{parseZone(t, "example.com.", ex), parseZone(t, "sub.example.com.", subZone)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

var testClient = netip.MustParseAddrPort("127.0.0.1:40000")

// exchange runs one message through Handle and returns the single reply.
func exchange(t testing.TB, s *Server, m *dns.Msg, tcp bool) *dns.Msg {
	t.Helper()
	p, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	replies := handleRaw(t, s, p, tcp)
	if len(replies) != 1 {
		t.Fatalf("%d replies, want 1", len(replies))
	}
	r := new(dns.Msg)
	if err := r.Unpack(replies[0]); err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return r
}

func handleRaw(t testing.TB, s *Server, p []byte, tcp bool) [][]byte {
	var out [][]byte
	_, err := s.Handle(Request{Packet: p, Client: testClient, TCP: tcp}, func(b []byte) error {
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	return m
}

// rrStrings renders records for comparison, sorted.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	slices.Sort(out)
	return out
}

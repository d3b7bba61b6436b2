package dnsserver

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// conformanceSnapshot serves the differential test's zones.
func conformanceSnapshot(t testing.TB) (*Snapshot, []*zones.Zone) {
	t.Helper()
	var zs []*zones.Zone
	for _, origin := range []string{"example.com.", "sub.example.com."} {
		path := filepath.Join("..", "testdata", "conformance", strings.TrimSuffix(origin, ".")+".zone")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		z, err := zones.ParseZoneFile(origin, path, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		zs = append(zs, z)
	}
	snap, err := Compile(zs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap, zs
}

// corpus builds queries over every owner name of the zones, and names
// beside and below them, in several types, cases and EDNS shapes.
func corpus(zs []*zones.Zone) []*dns.Msg {
	names := map[string]bool{"nope.example.com.": true, "www.other.org.": true, "com.": true}
	for _, z := range zs {
		for _, rr := range z.Records {
			n := rr.Header().Name
			names[n], names["x."+n], names["a.b."+n] = true, true, true
		}
	}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeNS, dns.TypeSOA, dns.TypeDS,
		dns.TypeCNAME, dns.TypeSRV, dns.TypeCAA, dns.TypePTR, dns.TypeANY}
	var out []*dns.Msg
	i := 0
	for n := range names {
		for _, t := range types {
			i++
			m := new(dns.Msg)
			m.SetQuestion(mixCase(n, i), t)
			m.Id = uint16(i)
			m.RecursionDesired = i%2 == 0
			switch i % 4 {
			case 1:
				m.SetEdns0(1232, i%3 == 0)
			case 2:
				m.SetEdns0(512, false)
			case 3:
				m.SetEdns0(4096, true)
				m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: 8, Family: 1, SourceNetmask: 24, Address: []byte{203, 0, 113, 0}})
			}
			out = append(out, m)
		}
	}
	return out
}

// mixCase upper-cases some letters, as resolvers using 0x20 do.
func mixCase(name string, seed int) string {
	b := []byte(name)
	for i := range b {
		if (i+seed)%3 == 0 && b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// TestFastAndSlowPathsAgree: for the whole corpus, over UDP and TCP, the
// fast parser and the general parser give byte-identical replies, and the
// fast parser takes the plain queries (else it would prove nothing).
func TestFastAndSlowPathsAgree(t *testing.T) {
	snap, zs := conformanceSnapshot(t)
	s := New(Config{}, snap)
	fast := 0
	msgs := corpus(zs)
	for _, m := range msgs {
		p, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		for _, tcp := range []bool{false, true} {
			var rq request
			if parseFast(p, &rq) {
				fast++
			}
			a, b := collect(t, s, p, tcp, true), collect(t, s, p, tcp, false)
			if !bytes.Equal(a, b) {
				t.Errorf("%s %s tcp=%v: fast and slow replies differ\nfast % x\nslow % x", m.Question[0].Name,
					dns.TypeToString[m.Question[0].Qtype], tcp, a, b)
			}
		}
	}
	t.Logf("%d queries, %d taken by the fast parser", 2*len(msgs), fast)
	if fast < len(msgs) {
		t.Fatalf("the fast parser took only %d of %d queries", fast, 2*len(msgs))
	}
}

// collect runs one packet through one path and returns the replies joined.
func collect(t testing.TB, s *Server, p []byte, tcp, fast bool) []byte {
	var out []byte
	_, err := s.handle(Request{Packet: p, Client: testClient, TCP: tcp}, func(b []byte) error {
		out = append(out, b...)
		return nil
	}, fast)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

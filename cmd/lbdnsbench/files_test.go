package main

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestBenchZone parses the generated zone as a master file and checks it
// has the names asked for and that every static hit has data.
func TestBenchZone(t *testing.T) {
	text, hits := benchZone(1000)
	zp := dns.NewZoneParser(strings.NewReader(text), "", "bench.zone")
	data := map[query]bool{}
	owners := map[string]bool{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		owners[h.Name] = true
		data[query{name: h.Name, qtype: h.Rrtype}] = true
		if h.Rrtype == dns.TypeCNAME {
			data[query{name: h.Name, qtype: dns.TypeA}] = true // answered through the alias
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	if n := len(owners); n < 1000 || n > 1002 {
		t.Errorf("%d owner names, want 1000 plus apex and ns1", n)
	}
	for _, h := range hits {
		if !data[h] {
			t.Errorf("hit %s %s has no data", h.name, dns.TypeToString[h.qtype])
		}
	}
}

// TestQueryFile reads a query file back in dnsperf's -B framing and finds
// the ECS option of each query intact.
func TestQueryFile(t *testing.T) {
	clients := clientPrefixes(rand.New(rand.NewPCG(1, 1)), 64)
	qs := lbQueries(rand.New(rand.NewPCG(2, 2)), geoName, clients, 200)
	path := filepath.Join(t.TempDir(), "q.bin")
	if err := writeQueryFile(path, qs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; len(b) > 0; i++ {
		n := int(binary.BigEndian.Uint16(b))
		m := new(dns.Msg)
		if err := m.Unpack(b[2 : 2+n]); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		b = b[2+n:]
		got := m.IsEdns0().Option[0].(*dns.EDNS0_SUBNET)
		addr, _ := netip.AddrFromSlice(got.Address)
		if p := netip.PrefixFrom(addr.Unmap(), int(got.SourceNetmask)); p != qs[i].ecs || m.RecursionDesired {
			t.Fatalf("query %d: ECS %v (RD %v), want %v without RD", i, p, m.RecursionDesired, qs[i].ecs)
		}
	}
}

// TestClientPrefixes wants distinct networks inside the client ranges,
// a quarter of them IPv6.
func TestClientPrefixes(t *testing.T) {
	ps := clientPrefixes(rand.New(rand.NewPCG(1, 1)), 4096)
	seen := map[netip.Prefix]bool{}
	v6 := 0
	for _, p := range ps {
		if seen[p] || !(clientV4.Overlaps(p) || clientV6.Overlaps(p)) {
			t.Fatalf("%v repeated or outside the client ranges", p)
		}
		seen[p] = true
		if p.Addr().Is6() {
			v6++
		}
	}
	if v6 != 1024 {
		t.Errorf("%d IPv6 networks, want 1024", v6)
	}
}

func TestBenchServicesValidate(t *testing.T) {
	if _, err := benchServices(); err != nil {
		t.Fatal(err)
	}
}

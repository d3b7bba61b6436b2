package dnsserver

import (
	"bytes"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// rawWithOPT packs m and appends an OPT record with the given version and
// raw option bytes, which miekg/dns would refuse to pack when malformed.
func rawWithOPT(t *testing.T, m *dns.Msg, version byte, options []byte) []byte {
	t.Helper()
	p, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	p[11] = 1 // ARCOUNT
	opt := []byte{0, 0, 41, 0x04, 0xd0, 0, version, 0, 0, byte(len(options) >> 8), byte(len(options))}
	return append(append(p, opt...), options...)
}

// TestMalformedPacketsGetTheSameAnswerOnBothPaths: packets that once
// crashed the server or made the two parsers disagree.
func TestMalformedPacketsGetTheSameAnswerOnBothPaths(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	badECS := []byte{0, 8, 0, 9, 0, 1, 33, 0, 1, 2, 3, 4, 0} // family 1, source 33, 5 address bytes
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 50) + ".example.com."
	longQ := question("x.example.com.", dns.TypeA)
	longP, _ := longQ.Pack()
	// Replace the question name with a 256-octet one.
	var name [300]byte
	n, err := dns.PackDomainName(long[:len(long)-len("example.com.")]+"example.com.", name[:], 0, nil, false)
	if err != nil {
		t.Fatalf("test name: %v", err) // miekg packs it; only the 255 check refuses it
	}
	longP = append(append(longP[:12:12], name[:n]...), 0, 1, 0, 1)
	compressed, _ := question("www.example.com.", dns.TypeA).Pack()
	compressed = append(compressed[:12:12], 0xC0, 0x0C, 0, 1, 0, 1) // a pointer to itself
	notimp := question("www.example.com.", dns.TypeA)
	notimp.Opcode = dns.OpcodeStatus
	notimp.SetEdns0(1232, false)

	tests := []struct {
		name  string
		p     []byte
		rcode int
		opt   bool
	}{
		{"BADVERS with a malformed ECS option", rawWithOPT(t, question("www.example.com.", dns.TypeA), 1, badECS), dns.RcodeFormatError, false},
		{"malformed ECS option", rawWithOPT(t, question("www.example.com.", dns.TypeA), 0, badECS), dns.RcodeFormatError, false},
		{"name of 256 octets", longP, dns.RcodeFormatError, false},
		{"compressed question name", compressed, dns.RcodeFormatError, false},
		{"NOTIMP keeps OPT", mustPack(t, notimp), dns.RcodeNotImplemented, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, slow := collect(t, s, tt.p, false, true), collect(t, s, tt.p, false, false)
			if !bytes.Equal(fast, slow) {
				t.Fatalf("paths differ:\nfast % x\nslow % x", fast, slow)
			}
			if len(fast) < headerLen || int(fast[3]&0xF) != tt.rcode&0xF {
				t.Fatalf("reply % x, want rcode %s", fast, dns.RcodeToString[tt.rcode])
			}
			r := new(dns.Msg)
			if err := r.Unpack(fast); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if (r.IsEdns0() != nil) != tt.opt {
				t.Errorf("OPT in reply %v, want %v", r.IsEdns0() != nil, tt.opt)
			}
		})
	}
}

func mustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	p, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWeightedAllZeroWeights: a standby site of weight 0 left alone is
// still answered (a draw over no weight used to panic).
func TestWeightedAllZeroWeights(t *testing.T) {
	zero := 0
	sites := []zones.Site{{Name: "standby", VIPs: []string{"192.0.2.51"}, Weight: &zero}, {Name: "main", VIPs: []string{"192.0.2.50"}}}
	health := func(_, site string) (bool, string) { return site == "standby", "down" }
	s := lbServer(t, nil, health, newService(t, "wz", zones.PolicyWeighted, sites))
	for range 20 {
		r := ask(t, s, lbQuestion("wz", dns.TypeA, pfx("0.0.0.0/0")), addr("192.0.2.200"))
		if got := addrsOf(r.Answer); len(got) != 1 || got[0] != "192.0.2.51" {
			t.Fatalf("got %v, want the standby 192.0.2.51", got)
		}
	}
}

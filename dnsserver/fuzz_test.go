package dnsserver

import (
	"bytes"
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandle feeds arbitrary packets to the request handler: it must never
// panic, whatever it sends must parse as a response to the same ID, and
// when the fast parser takes a packet the general parser must give the
// same bytes.
func FuzzHandle(f *testing.F) {
	for _, m := range []*dns.Msg{
		question("www.example.com.", dns.TypeA),
		withEDNS(question("x.wild.example.com.", dns.TypeTXT), 1232, 0, true),
		withEDNS(question("big.example.com.", dns.TypeTXT), 512, 1, false),
		question("loop1.example.com.", dns.TypeA),
		question("host.child.example.com.", dns.TypeAAAA),
		question("example.com.", dns.TypeANY),
		question("example.com.", dns.TypeAXFR),
	} {
		p, _ := m.Pack()
		f.Add(p, false)
		f.Add(p, true)
	}
	s := New(Config{}, testSnapshot(f))
	f.Fuzz(func(t *testing.T, p []byte, tcp bool) {
		var rq request
		if parseFast(p, &rq) {
			if a, b := collect(t, s, p, tcp, true), collect(t, s, p, tcp, false); !bytes.Equal(a, b) {
				t.Fatalf("fast and slow paths differ:\nfast % x\nslow % x", a, b)
			}
		}
		for _, b := range handleRaw(t, s, p, tcp) {
			r := new(dns.Msg)
			if err := r.Unpack(b); err != nil {
				t.Fatalf("reply does not parse: %v", err)
			}
			if !r.Response || r.Id != uint16(p[0])<<8|uint16(p[1]) {
				t.Fatalf("reply is not a response to the query")
			}
			if !tcp && len(b) > udpPayload {
				t.Fatalf("UDP reply of %d bytes", len(b))
			}
		}
	})
}

package dnsserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestLookup(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	soa := "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2026112601 3600 600 1209600 300"
	subSOA := "sub.example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 7 3600 600 1209600 60"
	childNS := []string{"child.example.com. 3600 IN NS ns.other.net.", "child.example.com. 3600 IN NS ns1.child.example.com."}
	glue := []string{"ns1.child.example.com. 3600 IN A 192.0.2.60", "ns1.child.example.com. 3600 IN AAAA 2001:db8::60"}
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		aa     bool
		answer []string
		ns     []string
		extra  []string
	}{
		{name: "exact A", qname: "www.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.example.com. 300 IN A 192.0.2.10", "www.example.com. 300 IN A 192.0.2.11"}},
		// The owner is compressed to the question name, so it reads back in
		// the question's case, as with NSD.
		{name: "case preserved lookup", qname: "WwW.ExAmPlE.CoM.", qtype: dns.TypeAAAA, aa: true,
			answer: []string{"WwW.ExAmPlE.CoM. 300 IN AAAA 2001:db8::10"}},
		{name: "NODATA", qname: "www.example.com.", qtype: dns.TypeMX, aa: true, ns: []string{soa}},
		{name: "NXDOMAIN", qname: "nope.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "empty non-terminal", qname: "b.c.example.com.", qtype: dns.TypeA, aa: true, ns: []string{soa}},
		{name: "empty non-terminal, higher", qname: "c.example.com.", qtype: dns.TypeTXT, aa: true, ns: []string{soa}},
		{name: "apex SOA", qname: "example.com.", qtype: dns.TypeSOA, aa: true,
			answer: []string{strings.Replace(soa, " 300 ", " 3600 ", 1)}},
		{name: "apex NS with in-zone glue", qname: "example.com.", qtype: dns.TypeNS, aa: true,
			answer: []string{"example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.other.net."},
			extra:  []string{"ns1.example.com. 3600 IN A 192.0.2.53"}},
		{name: "referral at the cut", qname: "child.example.com.", qtype: dns.TypeA, ns: childNS, extra: glue},
		{name: "referral below the cut", qname: "deep.host.child.example.com.", qtype: dns.TypeAAAA, ns: childNS, extra: glue},
		{name: "NS at the cut is a referral", qname: "child.example.com.", qtype: dns.TypeNS, ns: childNS, extra: glue},
		{name: "glue name is a referral", qname: "ns1.child.example.com.", qtype: dns.TypeA, ns: childNS, extra: glue},
		{name: "DS from the parent side", qname: "child.example.com.", qtype: dns.TypeDS, aa: true,
			answer: []string{"child.example.com. 3600 IN DS 12345 8 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}},
		{name: "DS for a served child zone from the parent", qname: "sub.example.com.", qtype: dns.TypeDS, aa: true,
			answer: []string{"sub.example.com. 3600 IN DS 7 8 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"}},
		{name: "served child zone's own apex NS", qname: "sub.example.com.", qtype: dns.TypeNS, aa: true,
			answer: []string{"sub.example.com. 3600 IN NS ns1.example.com."}},
		{name: "longest zone match", qname: "www.sub.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"www.sub.example.com. 300 IN A 192.0.2.40"}},
		{name: "child zone NXDOMAIN uses its SOA", qname: "x.sub.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true,
			ns: []string{subSOA}},
		{name: "CNAME followed", qname: "alias.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"alias.example.com. 300 IN CNAME www.example.com.", "www.example.com. 300 IN A 192.0.2.10", "www.example.com. 300 IN A 192.0.2.11"}},
		{name: "CNAME query not followed", qname: "alias.example.com.", qtype: dns.TypeCNAME, aa: true,
			answer: []string{"alias.example.com. 300 IN CNAME www.example.com."}},
		{name: "ANY at a CNAME is the CNAME alone", qname: "alias.example.com.", qtype: dns.TypeANY, aa: true,
			answer: []string{"alias.example.com. 300 IN CNAME www.example.com."}},
		{name: "CNAME chain", qname: "chain1.example.com.", qtype: dns.TypeAAAA, aa: true,
			answer: []string{"alias.example.com. 300 IN CNAME www.example.com.", "chain1.example.com. 300 IN CNAME chain2.example.com.",
				"chain2.example.com. 300 IN CNAME alias.example.com.", "www.example.com. 300 IN AAAA 2001:db8::10"}},
		{name: "CNAME loop stops", qname: "loop1.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"loop1.example.com. 300 IN CNAME loop2.example.com.", "loop2.example.com. 300 IN CNAME loop1.example.com."}},
		{name: "CNAME to NXDOMAIN", qname: "dangling.example.com.", qtype: dns.TypeA, rcode: dns.RcodeNameError, aa: true,
			answer: []string{"dangling.example.com. 300 IN CNAME nothere.example.com."}, ns: []string{soa}},
		{name: "CNAME out of our zones", qname: "outside.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"outside.example.com. 300 IN CNAME www.other.net."}},
		{name: "CNAME into another served zone", qname: "toother.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"toother.example.com. 300 IN CNAME www.sub.example.com.", "www.sub.example.com. 300 IN A 192.0.2.40"}},
		{name: "CNAME into a delegation", qname: "todeleg.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"todeleg.example.com. 300 IN CNAME host.child.example.com."}, ns: childNS, extra: glue},
		{name: "wildcard synthesis", qname: "x.wild.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"x.wild.example.com. 300 IN A 192.0.2.30"}},
		{name: "wildcard synthesis keeps query case", qname: "Y.z.WILD.example.com.", qtype: dns.TypeTXT, aa: true,
			answer: []string{"Y.z.WILD.example.com. 300 IN TXT \"wild\""}},
		{name: "wildcard NODATA", qname: "x.wild.example.com.", qtype: dns.TypeMX, aa: true, ns: []string{soa}},
		{name: "existing name beats wildcard", qname: "exists.wild.example.com.", qtype: dns.TypeTXT, aa: true, ns: []string{soa}},
		{name: "no synthesis across an existing ENT", qname: "x.below.wild.example.com.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, aa: true, ns: []string{soa}},
		{name: "ENT under wildcard parent is NODATA", qname: "below.wild.example.com.", qtype: dns.TypeA, aa: true, ns: []string{soa}},
		{name: "wildcard owner queried literally", qname: "*.wild.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"*.wild.example.com. 300 IN A 192.0.2.30"}},
		{name: "wildcard CNAME", qname: "q.wc.example.com.", qtype: dns.TypeA, aa: true,
			answer: []string{"q.wc.example.com. 300 IN CNAME www.example.com.", "www.example.com. 300 IN A 192.0.2.10", "www.example.com. 300 IN A 192.0.2.11"}},
		{name: "ANY over TCP gives every RRset", qname: "www.example.com.", qtype: dns.TypeANY, aa: true,
			answer: []string{"www.example.com. 300 IN A 192.0.2.10", "www.example.com. 300 IN A 192.0.2.11", "www.example.com. 300 IN AAAA 2001:db8::10"}},
		{name: "out of zone", qname: "www.other.net.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
		{name: "parent of served zone", qname: "com.", qtype: dns.TypeA, rcode: dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, s, question(tt.qname, tt.qtype), true)
			if r.Rcode != tt.rcode || r.Authoritative != tt.aa || r.RecursionAvailable {
				t.Errorf("rcode %s aa %v ra %v, want %s aa %v ra false", dns.RcodeToString[r.Rcode], r.Authoritative,
					r.RecursionAvailable, dns.RcodeToString[tt.rcode], tt.aa)
			}
			if r.Question[0].Name != tt.qname {
				t.Errorf("question name %q, want %q", r.Question[0].Name, tt.qname)
			}
			check := func(section string, got []dns.RR, want []string) {
				slices.Sort(want)
				if g := rrStrings(got); !slices.Equal(g, want) {
					t.Errorf("%s:\n got  %q\n want %q", section, g, want)
				}
			}
			check("answer", r.Answer, tt.answer)
			check("authority", r.Ns, tt.ns)
			check("additional", r.Extra, tt.extra)
		})
	}
}

func TestANYOverUDPIsMinimal(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	r := exchange(t, s, question("www.example.com.", dns.TypeANY), false)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		t.Fatalf("rcode %d, %d answers", r.Rcode, len(r.Answer))
	}
	types := map[uint16]bool{}
	for _, rr := range r.Answer {
		types[rr.Header().Rrtype] = true
	}
	if len(types) != 1 {
		t.Errorf("ANY over UDP answered %d RRsets, want 1 (RFC 8482)", len(types))
	}
}

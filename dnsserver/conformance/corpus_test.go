package conformance

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/miekg/dns"
)

// kind is the shape of answer a query must get, checked on lbdns on its own
// (and on NSD, to keep the table honest) besides the differential check.
type kind int

const (
	kAnswer      kind = iota // NOERROR, AA, data in the answer section
	kNoData                  // NOERROR, AA, empty answer, SOA in authority
	kNXDomain                // NXDOMAIN, AA, empty answer, SOA in authority
	kCNAMENoData             // NOERROR, AA, CNAME chain then NODATA (SOA in authority)
	kCNAMENX                 // NXDOMAIN, AA, CNAME chain to a name that does not exist
	kReferral                // NOERROR, no AA, empty answer, NS of the cut in authority
	kCNAMERef                // NOERROR, AA, CNAME into a delegation, then the referral
	kRefused                 // REFUSED: no zone served holds the name
)

var kindNames = map[kind]string{
	kAnswer: "answer", kNoData: "nodata", kNXDomain: "nxdomain", kCNAMENoData: "cname+nodata",
	kCNAMENX: "cname+nxdomain", kReferral: "referral", kCNAMERef: "cname+referral", kRefused: "refused",
}

func (k kind) String() string { return kindNames[k] }

// qcase is one row of the corpus table: a question and what it exercises.
type qcase struct {
	name  string // as sent (table rows may be mixed case already)
	qtype uint16
	kind  kind
	size  int    // for big RRsets: the full response size in bytes, to predict TC
	about string // what the row exercises
}

// variant is how a question is sent.
type variant struct {
	net     string // "udp" or "tcp"
	edns    uint16 // advertised UDP size; 0: no OPT record
	do      bool   // DNSSEC OK bit
	version uint8  // EDNS version (1 provokes BADVERS)
	rd      bool   // recursion desired
	mixCase bool   // alternate the case of the name's letters
}

func (v variant) String() string {
	s := v.net
	if v.edns == 0 {
		s += " noedns"
	} else {
		s += fmt.Sprintf(" edns=%d", v.edns)
		if v.do {
			s += " +do"
		}
		if v.version != 0 {
			s += fmt.Sprintf(" version=%d", v.version)
		}
	}
	if v.rd {
		s += " +rd"
	}
	if v.mixCase {
		s += " mixcase"
	}
	return s
}

// query is one compared query: a case sent one way.
type query struct {
	qcase
	variant
	sent string // the name exactly as sent
}

func (q query) String() string {
	return fmt.Sprintf("%s %s (%s; %s) [%s]", q.sent, dns.Type(q.qtype).String(), q.kind, q.about, q.variant)
}

// msg builds the query message.
func (q query) msg() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(q.sent, q.qtype)
	m.RecursionDesired = q.rd
	if q.edns != 0 {
		m.SetEdns0(q.edns, q.do)
		m.IsEdns0().SetVersion(q.version)
	}
	return m
}

// wantTC reports whether the reply must be truncated: only a big RRset over
// UDP that does not fit the payload size, the requester's (512 without EDNS)
// or, if smaller, the one the server advertises in its own OPT record.
func (q query) wantTC(serverSize uint16) bool {
	if q.net != "udp" || q.size == 0 {
		return false
	}
	limit := max(int(q.edns), dns.MinMsgSize)
	if q.edns != 0 && serverSize != 0 {
		limit = min(limit, max(int(serverSize), dns.MinMsgSize))
	}
	return q.size > limit
}

// mixCase alternates upper and lower case over the letters of name.
func mixCase(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if unicode.IsLetter(r) {
			if up {
				r = unicode.ToUpper(r)
			} else {
				r = unicode.ToLower(r)
			}
			up = !up
		}
		b.WriteRune(r)
	}
	return b.String()
}

const (
	bigTXTSize  = 700  // bigtxt.example.com TXT: > 512, < 1232
	hugeTXTSize = 2400 // hugetxt.example.com TXT: > 1232, < 4096
)

// cases is the corpus table. Names are relative to nothing: fully qualified.
var cases = []qcase{
	// apex of example.com
	{name: "example.com.", qtype: dns.TypeSOA, kind: kAnswer, about: "apex SOA"},
	{name: "example.com.", qtype: dns.TypeNS, kind: kAnswer, about: "apex NS"},
	{name: "example.com.", qtype: dns.TypeMX, kind: kAnswer, about: "apex MX"},
	{name: "example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "apex TXT RRset"},
	{name: "example.com.", qtype: dns.TypeA, kind: kAnswer, about: "apex A"},
	{name: "example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "apex AAAA"},
	{name: "example.com.", qtype: dns.TypeCAA, kind: kAnswer, about: "apex CAA"},
	{name: "example.com.", qtype: dns.TypeSRV, kind: kNoData, about: "apex NODATA"},
	{name: "example.com.", qtype: dns.TypeCNAME, kind: kNoData, about: "apex NODATA for CNAME"},
	{name: "example.com.", qtype: dns.TypeDS, kind: kNoData, about: "DS at the apex (parent not served)"},
	{name: "EXAMPLE.COM.", qtype: dns.TypeSOA, kind: kAnswer, about: "upper-case apex"},

	// plain hosts
	{name: "www.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "A RRset of two"},
	{name: "www.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "AAAA"},
	{name: "www.example.com.", qtype: dns.TypeMX, kind: kNoData, about: "NODATA"},
	{name: "www.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "NODATA"},
	{name: "WwW.ExAmPlE.cOm.", qtype: dns.TypeA, kind: kAnswer, about: "mixed-case question"},
	{name: "ns1.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "name server A"},
	{name: "ns1.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "name server AAAA"},
	{name: "ns2.example.com.", qtype: dns.TypeAAAA, kind: kNoData, about: "NODATA"},
	{name: "mail.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "MX target"},
	{name: "txtonly.example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "TXT"},
	{name: "txtonly.example.com.", qtype: dns.TypeA, kind: kNoData, about: "NODATA"},
	{name: "_sip._tcp.example.com.", qtype: dns.TypeSRV, kind: kAnswer, about: "SRV RRset"},
	{name: "_sip._tcp.example.com.", qtype: dns.TypeA, kind: kNoData, about: "NODATA at SRV owner"},
	{name: "_tcp.example.com.", qtype: dns.TypeSRV, kind: kNoData, about: "empty non-terminal above SRV"},
	{name: "_SIP._TCP.Example.Com.", qtype: dns.TypeSRV, kind: kAnswer, about: "mixed-case SRV"},
	{name: "caa.example.com.", qtype: dns.TypeCAA, kind: kAnswer, about: "CAA with flag 128"},
	{name: "1.2.0.192.rev.example.com.", qtype: dns.TypePTR, kind: kAnswer, about: "PTR"},
	{name: "2.0.192.rev.example.com.", qtype: dns.TypePTR, kind: kNoData, about: "empty non-terminal above PTR"},
	{name: "www.example.com.", qtype: 65280, kind: kNoData, about: "private-use type, NODATA"},
	{name: `caf\195\169.example.com.`, qtype: dns.TypeTXT, kind: kAnswer, about: "non-ASCII label"},
	{name: `CAF\195\169.example.com.`, qtype: dns.TypeTXT, kind: kAnswer, about: "non-ASCII label, ASCII letters upper"},
	{name: `caf\195\137.example.com.`, qtype: dns.TypeTXT, kind: kNXDomain, about: "non-ASCII label: no case folding beyond ASCII"},

	// NXDOMAIN
	{name: "nope.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "NXDOMAIN"},
	{name: "nope.example.com.", qtype: dns.TypeMX, kind: kNXDomain, about: "NXDOMAIN"},
	{name: "NoPe.ExAmPle.CoM.", qtype: dns.TypeAAAA, kind: kNXDomain, about: "mixed-case NXDOMAIN"},
	{name: "deep.nope.example.com.", qtype: dns.TypeTXT, kind: kNXDomain, about: "NXDOMAIN two labels down"},
	{name: "below.www.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "NXDOMAIN below an existing name"},

	// empty non-terminals: only a.b.c.example.com exists
	{name: "a.b.c.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "leaf under ENTs"},
	{name: "b.c.example.com.", qtype: dns.TypeA, kind: kNoData, about: "empty non-terminal"},
	{name: "c.example.com.", qtype: dns.TypeA, kind: kNoData, about: "empty non-terminal"},
	{name: "c.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "empty non-terminal"},
	{name: "x.b.c.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "NXDOMAIN below an ENT"},
	{name: "x.a.b.c.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "NXDOMAIN below the leaf"},

	// a delegation with glue and a DS, and one without either
	{name: "child.example.com.", qtype: dns.TypeA, kind: kReferral, about: "query at the cut"},
	{name: "child.example.com.", qtype: dns.TypeNS, kind: kReferral, about: "NS at the cut"},
	{name: "child.example.com.", qtype: dns.TypeDS, kind: kAnswer, about: "DS at the cut, parent side"},
	{name: "child.example.com.", qtype: dns.TypeSOA, kind: kReferral, about: "SOA at the cut"},
	{name: "ChIlD.ExAmPlE.cOm.", qtype: dns.TypeDS, kind: kAnswer, about: "mixed-case DS at the cut"},
	{name: "host.child.example.com.", qtype: dns.TypeA, kind: kReferral, about: "below the cut"},
	{name: "host.child.example.com.", qtype: dns.TypeDS, kind: kReferral, about: "DS below the cut"},
	{name: "deep.host.child.example.com.", qtype: dns.TypeMX, kind: kReferral, about: "deep below the cut"},
	{name: "ns1.child.example.com.", qtype: dns.TypeA, kind: kReferral, about: "glue name A"},
	{name: "ns1.child.example.com.", qtype: dns.TypeAAAA, kind: kReferral, about: "glue name AAAA"},
	{name: "ns2.child.example.com.", qtype: dns.TypeAAAA, kind: kReferral, about: "glue name, absent type"},
	{name: "ext.example.com.", qtype: dns.TypeA, kind: kReferral, about: "referral without glue"},
	{name: "ext.example.com.", qtype: dns.TypeNS, kind: kReferral, about: "NS at an unsigned cut"},
	{name: "ext.example.com.", qtype: dns.TypeDS, kind: kNoData, about: "DS absent at the cut"},
	{name: "www.ext.example.com.", qtype: dns.TypeAAAA, kind: kReferral, about: "below an unsigned cut"},

	// CNAMEs
	{name: "alias.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "CNAME to in-zone A"},
	{name: "alias.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "CNAME to in-zone AAAA"},
	{name: "alias.example.com.", qtype: dns.TypeCNAME, kind: kAnswer, about: "CNAME query"},
	{name: "alias.example.com.", qtype: dns.TypeMX, kind: kCNAMENoData, about: "CNAME then NODATA"},
	{name: "AlIaS.eXaMpLe.CoM.", qtype: dns.TypeA, kind: kAnswer, about: "mixed-case CNAME"},
	{name: "chain1.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "CNAME chain of four hops"},
	{name: "chain1.example.com.", qtype: dns.TypeTXT, kind: kCNAMENoData, about: "CNAME chain then NODATA"},
	{name: "chain3.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "CNAME chain from the middle"},
	{name: "chain2.example.com.", qtype: dns.TypeCNAME, kind: kAnswer, about: "CNAME query in a chain"},
	{name: "loop1.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "CNAME loop"},
	{name: "loop2.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "CNAME loop from the other end"},
	{name: "loop1.example.com.", qtype: dns.TypeCNAME, kind: kAnswer, about: "CNAME query in a loop"},
	{name: "dangling.example.com.", qtype: dns.TypeA, kind: kCNAMENX, about: "CNAME to a missing name"},
	{name: "dangling.example.com.", qtype: dns.TypeTXT, kind: kCNAMENX, about: "CNAME to a missing name"},
	{name: "dangling.example.com.", qtype: dns.TypeCNAME, kind: kAnswer, about: "CNAME query, missing target"},
	{name: "outside.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "CNAME out of zone"},
	{name: "outside.example.com.", qtype: dns.TypeMX, kind: kAnswer, about: "CNAME out of zone"},
	{name: "tochild.example.com.", qtype: dns.TypeA, kind: kCNAMERef, about: "CNAME into a delegation"},
	{name: "towild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "CNAME to a wildcard-synthesized name"},
	{name: "towild.example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "CNAME to a wildcard-synthesized name"},
	{name: "towild.example.com.", qtype: dns.TypeMX, kind: kCNAMENoData, about: "CNAME to a wildcard, absent type"},
	{name: "tomx.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "CNAME to a host with AAAA"},

	// wildcards (RFC 4592)
	{name: "x.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "wildcard A"},
	{name: "x.wild.example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "wildcard TXT"},
	{name: "x.y.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "wildcard two labels down"},
	{name: "X.Y.WILD.example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "mixed-case wildcard"},
	{name: "x.wild.example.com.", qtype: dns.TypeMX, kind: kNoData, about: "wildcard NODATA"},
	{name: "x.wild.example.com.", qtype: dns.TypeAAAA, kind: kNoData, about: "wildcard NODATA"},
	{name: "*.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "the wildcard owner itself"},
	{name: "*.wild.example.com.", qtype: dns.TypeMX, kind: kNoData, about: "the wildcard owner, absent type"},
	{name: "*.x.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "an asterisk label in a query is literal"},
	{name: `\255.wild.example.com.`, qtype: dns.TypeTXT, kind: kAnswer, about: "wildcard, non-ASCII query label"},
	{name: "host.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "existing name beside the wildcard"},
	{name: "host.wild.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "no synthesis at an existing name"},
	{name: "x.host.wild.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "no synthesis below an existing name"},
	{name: "ent.wild.example.com.", qtype: dns.TypeA, kind: kNoData, about: "ENT under the wildcard parent"},
	{name: "ent.wild.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "ENT under the wildcard parent"},
	{name: "a.ent.wild.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "leaf below the ENT"},
	{name: "x.ent.wild.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "no synthesis below an ENT"},
	{name: "wild.example.com.", qtype: dns.TypeA, kind: kNoData, about: "wildcard parent is an ENT"},
	{name: "x.cw.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "wildcard CNAME"},
	{name: "x.cw.example.com.", qtype: dns.TypeCNAME, kind: kAnswer, about: "wildcard CNAME, CNAME query"},
	{name: "x.y.cw.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "wildcard CNAME two labels down"},
	{name: "x.cw.example.com.", qtype: dns.TypeMX, kind: kCNAMENoData, about: "wildcard CNAME then NODATA"},
	{name: "foo.cwc.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "wildcard CNAME into a chain"},

	// big RRsets
	{name: "bigtxt.example.com.", qtype: dns.TypeTXT, kind: kAnswer, size: bigTXTSize, about: "TXT > 512 bytes"},
	{name: "hugetxt.example.com.", qtype: dns.TypeTXT, kind: kAnswer, size: hugeTXTSize, about: "TXT > 1232 bytes"},
	{name: "HugeTxt.Example.Com.", qtype: dns.TypeTXT, kind: kAnswer, size: hugeTXTSize, about: "mixed-case big TXT"},

	// the second zone, inside the first one's name space
	{name: "sub.example.com.", qtype: dns.TypeSOA, kind: kAnswer, about: "second zone SOA (longest match)"},
	{name: "sub.example.com.", qtype: dns.TypeNS, kind: kAnswer, about: "second zone NS"},
	{name: "sub.example.com.", qtype: dns.TypeMX, kind: kAnswer, about: "second zone MX"},
	{name: "sub.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "second zone apex A"},
	{name: "sub.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "second zone NODATA, SOA TTL < MINIMUM"},
	{name: "www.sub.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "second zone A"},
	{name: "www.sub.example.com.", qtype: dns.TypeAAAA, kind: kAnswer, about: "second zone AAAA"},
	{name: "WWW.SUB.EXAMPLE.COM.", qtype: dns.TypeAAAA, kind: kAnswer, about: "upper-case second zone"},
	{name: "alias.sub.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "second zone CNAME"},
	{name: "y.sub.example.com.", qtype: dns.TypeA, kind: kNoData, about: "second zone ENT"},
	{name: "x.y.sub.example.com.", qtype: dns.TypeTXT, kind: kNoData, about: "second zone ENT"},
	{name: "deep.x.y.sub.example.com.", qtype: dns.TypeTXT, kind: kAnswer, about: "second zone leaf"},
	{name: "nx.sub.example.com.", qtype: dns.TypeA, kind: kNXDomain, about: "second zone NXDOMAIN"},
	{name: "a.w.sub.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "second zone wildcard"},
	{name: "a.b.w.sub.example.com.", qtype: dns.TypeA, kind: kAnswer, about: "second zone wildcard, two labels"},
	{name: "a.w.sub.example.com.", qtype: dns.TypeMX, kind: kNoData, about: "second zone wildcard NODATA"},

	// names in no served zone
	{name: "example.org.", qtype: dns.TypeA, kind: kRefused, about: "other zone"},
	{name: "www.example.net.", qtype: dns.TypeA, kind: kRefused, about: "CNAME target out of zone"},
	{name: "com.", qtype: dns.TypeNS, kind: kRefused, about: "parent of the zone"},
	{name: ".", qtype: dns.TypeSOA, kind: kRefused, about: "root"},
	{name: "notexample.com.", qtype: dns.TypeA, kind: kRefused, about: "suffix but not at a label boundary"},
	{name: "Example.Org.", qtype: dns.TypeMX, kind: kRefused, about: "mixed-case refused"},

	// ANY, over TCP only (see README)
	{name: "example.com.", qtype: dns.TypeANY, kind: kAnswer, about: "ANY at the apex"},
	{name: "www.example.com.", qtype: dns.TypeANY, kind: kAnswer, about: "ANY, two RRsets"},
	{name: "alias.example.com.", qtype: dns.TypeANY, kind: kAnswer, about: "ANY at a CNAME"},
	{name: "x.wild.example.com.", qtype: dns.TypeANY, kind: kAnswer, about: "ANY synthesized from a wildcard"},
	{name: "nope.example.com.", qtype: dns.TypeANY, kind: kNXDomain, about: "ANY, NXDOMAIN"},
	{name: "c.example.com.", qtype: dns.TypeANY, kind: kNoData, about: "ANY at an ENT"},
	{name: "child.example.com.", qtype: dns.TypeANY, kind: kReferral, about: "ANY at the cut"},
	{name: "sub.example.com.", qtype: dns.TypeANY, kind: kAnswer, about: "ANY at the second apex"},
}

// Variants every ordinary row is sent with.
var defaultVariants = []variant{
	{net: "udp", rd: true},
	{net: "udp", edns: 1232, mixCase: true},
	{net: "tcp", edns: 4096, do: true, rd: true},
}

// Extra variants for big RRsets: every payload size and both transports.
var bigVariants = []variant{
	{net: "udp", edns: 512},
	{net: "udp", edns: 4096},
	{net: "tcp"},
	{net: "tcp", edns: 512, mixCase: true},
	{net: "udp", edns: 1232, do: true, rd: true},
}

// ANY is compared over TCP only.
var anyVariants = []variant{
	{net: "tcp"},
	{net: "tcp", edns: 1232, mixCase: true, rd: true},
}

// Extra variants for a sample of rows: a small EDNS size and BADVERS.
var sampleVariants = []variant{
	{net: "udp", edns: 512, rd: true},
	{net: "udp", edns: 1232, version: 1},
	{net: "tcp", edns: 1232, version: 1, mixCase: true},
}

// corpus expands the table into the queries to compare.
func corpus() []query {
	var qs []query
	add := func(c qcase, vs []variant) {
		for _, v := range vs {
			sent := c.name
			if v.mixCase {
				sent = mixCase(sent)
			}
			qs = append(qs, query{qcase: c, variant: v, sent: sent})
		}
	}
	for i, c := range cases {
		switch {
		case c.qtype == dns.TypeANY:
			add(c, anyVariants)
		case c.size > 0:
			add(c, defaultVariants)
			add(c, bigVariants)
		default:
			add(c, defaultVariants)
			if i%8 == 0 {
				add(c, sampleVariants)
			}
		}
	}
	return qs
}

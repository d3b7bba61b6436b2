package dnsserver

import (
	"encoding/binary"
	"testing"

	"github.com/miekg/dns"
)

func withEDNS(m *dns.Msg, size uint16, version uint8, do bool) *dns.Msg {
	m.SetEdns0(size, do)
	m.IsEdns0().SetVersion(version)
	return m
}

func TestProtocol(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	twoQuestions := question("www.example.com.", dns.TypeA)
	twoQuestions.Question = append(twoQuestions.Question, twoQuestions.Question[0])
	noQuestion := question("www.example.com.", dns.TypeA)
	noQuestion.Question = nil
	notify := question("example.com.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	update := question("example.com.", dns.TypeSOA)
	update.Opcode = dns.OpcodeUpdate
	twoOPT := withEDNS(question("www.example.com.", dns.TypeA), 1232, 0, false)
	twoOPT.Extra = append(twoOPT.Extra, twoOPT.Extra[0])
	optInAnswer := question("www.example.com.", dns.TypeA)
	optInAnswer.Answer = []dns.RR{&dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}}}
	badOwner := withEDNS(question("www.example.com.", dns.TypeA), 1232, 0, false)
	badOwner.Extra[0].Header().Name = "example.com."
	chaos := question("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	rd := question("www.example.com.", dns.TypeA)
	rd.RecursionDesired = true

	tests := []struct {
		name    string
		m       *dns.Msg
		tcp     bool
		rcode   int
		opt     bool // reply carries OPT
		tc      bool
		answers int
	}{
		{name: "plain", m: question("www.example.com.", dns.TypeA), rcode: dns.RcodeSuccess, answers: 2},
		{name: "EDNS query gets OPT", m: withEDNS(question("www.example.com.", dns.TypeA), 4096, 0, false), rcode: dns.RcodeSuccess, opt: true, answers: 2},
		{name: "BADVERS for version 1", m: withEDNS(question("www.example.com.", dns.TypeA), 1232, 1, false), rcode: dns.RcodeBadVers, opt: true},
		{name: "two questions", m: twoQuestions, rcode: dns.RcodeFormatError},
		{name: "no question", m: noQuestion, rcode: dns.RcodeFormatError},
		{name: "two OPT records", m: twoOPT, rcode: dns.RcodeFormatError},
		{name: "OPT in the answer section", m: optInAnswer, rcode: dns.RcodeFormatError},
		{name: "OPT not owned by root", m: badOwner, rcode: dns.RcodeFormatError},
		{name: "NOTIFY not implemented", m: notify, rcode: dns.RcodeNotImplemented},
		{name: "UPDATE not implemented", m: update, rcode: dns.RcodeNotImplemented},
		{name: "CHAOS refused", m: chaos, rcode: dns.RcodeRefused},
		{name: "RD set, still no recursion", m: rd, rcode: dns.RcodeSuccess, answers: 2},
		{name: "big answer truncated without EDNS", m: question("big.example.com.", dns.TypeTXT), rcode: dns.RcodeSuccess, tc: true},
		{name: "big answer fits in 1232 with EDNS", m: withEDNS(question("big.example.com.", dns.TypeTXT), 1232, 0, false), rcode: dns.RcodeSuccess, opt: true, answers: 2},
		{name: "EDNS 512 still truncates", m: withEDNS(question("big.example.com.", dns.TypeTXT), 512, 0, false), rcode: dns.RcodeSuccess, opt: true, tc: true},
		{name: "big answer whole over TCP", m: question("big.example.com.", dns.TypeTXT), tcp: true, rcode: dns.RcodeSuccess, answers: 2},
		{name: "AXFR over UDP refused", m: question("example.com.", dns.TypeAXFR), rcode: dns.RcodeRefused},
		{name: "AXFR over TCP not allowed", m: question("example.com.", dns.TypeAXFR), tcp: true, rcode: dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, s, tt.m, tt.tcp)
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if r.Id != tt.m.Id || !r.Response || r.RecursionAvailable || r.RecursionDesired != tt.m.RecursionDesired {
				t.Errorf("header: id %d qr %v ra %v rd %v", r.Id, r.Response, r.RecursionAvailable, r.RecursionDesired)
			}
			opt := r.IsEdns0()
			if (opt != nil) != tt.opt {
				t.Fatalf("OPT in reply: %v, want %v", opt != nil, tt.opt)
			}
			if opt != nil && (opt.UDPSize() != udpPayload || opt.Version() != 0) {
				t.Errorf("OPT size %d version %d, want %d and 0", opt.UDPSize(), opt.Version(), udpPayload)
			}
			if r.Truncated != tt.tc || len(r.Answer) != tt.answers {
				t.Errorf("tc %v with %d answers, want tc %v with %d", r.Truncated, len(r.Answer), tt.tc, tt.answers)
			}
		})
	}
}

func TestDOBitCopied(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	r := exchange(t, s, withEDNS(question("www.example.com.", dns.TypeA), 1232, 0, true), false)
	if opt := r.IsEdns0(); opt == nil || !opt.Do() {
		t.Fatal("DO bit not copied into the reply")
	}
}

func TestMalformedPackets(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	good, _ := question("www.example.com.", dns.TypeA).Pack()
	asResponse := append([]byte(nil), good...)
	asResponse[2] |= 0x80
	truncated := good[:len(good)-3]
	badCount := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(badCount[6:], 5) // ANCOUNT 5, no records
	tests := []struct {
		name   string
		p      []byte
		answer bool
		rcode  int
	}{
		{"empty", nil, false, 0},
		{"short header", good[:11], false, 0},
		{"a response", asResponse, false, 0},
		{"truncated question", truncated, true, dns.RcodeFormatError},
		{"counts beyond the data", badCount, true, dns.RcodeFormatError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := handleRaw(t, s, tt.p, false)
			if !tt.answer {
				if len(out) != 0 {
					t.Fatalf("answered a packet that must be dropped")
				}
				return
			}
			if len(out) != 1 || len(out[0]) < headerLen {
				t.Fatalf("want one reply, got %d", len(out))
			}
			h := out[0]
			if h[0] != tt.p[0] || h[1] != tt.p[1] || h[2]&0x80 == 0 || int(h[3]&0xF) != tt.rcode {
				t.Errorf("reply header % x, want id % x, QR, rcode %d", h[:4], tt.p[:2], tt.rcode)
			}
		})
	}
}

func TestReferralGlueNeverDroppedSilently(t *testing.T) {
	s := New(Config{}, testSnapshot(t))
	// A referral whose glue does not fit must be truncated, not sent glueless.
	m := question("host.child.example.com."+"", dns.TypeA)
	r := exchange(t, s, m, false)
	if len(r.Extra) == 0 && !r.Truncated {
		t.Fatal("referral sent without its glue and without TC")
	}
}

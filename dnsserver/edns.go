package dnsserver

import (
	"github.com/miekg/dns"
)

const (
	// udpPayload is the EDNS payload size lbdns advertises and the largest
	// UDP reply it sends (the 2020 DNS flag day value, avoiding fragments).
	udpPayload = 1232
	// plainUDPSize is the limit for a UDP reply to a query without EDNS.
	plainUDPSize = 512
)

// ednsInfo is what the request's OPT record asks for.
type ednsInfo struct {
	present bool
	version uint8
	do      bool
	size    uint16 // requester's payload size, at least 512
	ecs     ecsInfo
	ecsOK   bool // false: a malformed ECS option (FORMERR)
}

// parseEDNS validates the OPT record placement (RFC 6891 §6.1.1): at most one,
// only in the additional section, owned by the root. ok is false for a
// malformed request, which gets FORMERR.
func parseEDNS(m *dns.Msg) (e ednsInfo, ok bool) {
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeOPT {
			return e, false
		}
	}
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeOPT {
			return e, false
		}
	}
	for _, rr := range m.Extra {
		opt, isOpt := rr.(*dns.OPT)
		if !isOpt {
			continue
		}
		if e.present || opt.Hdr.Name != "." {
			return e, false
		}
		e.present = true
		e.version = opt.Version()
		e.do = opt.Do()
		e.size = max(opt.UDPSize(), plainUDPSize)
		e.ecs, e.ecsOK = parseECS(opt)
	}
	return e, true
}

// replyOPT is the OPT record for a reply to an EDNS request.
func replyOPT(e ednsInfo, extRcode int) *dns.OPT {
	opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	opt.SetUDPSize(udpPayload)
	if e.do {
		opt.SetDo() // RFC 3225 §3: copy DO into the response
	}
	if extRcode > 0xF {
		opt.SetExtendedRcode(uint16(extRcode))
	}
	return opt
}

// udpLimit is the largest UDP reply the requester can take.
func (e ednsInfo) udpLimit() int {
	if !e.present {
		return plainUDPSize
	}
	return int(min(e.size, udpPayload))
}

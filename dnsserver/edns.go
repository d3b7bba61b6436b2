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

// ednsInfo is what the request's OPT record asks for (see parseOPT).
type ednsInfo struct {
	present bool
	version uint8
	do      bool
	size    uint16 // requester's payload size, at least 512
	ecs     ecsInfo
}

// optPlacementOK checks the OPT record placement (RFC 6891 §6.1.1) in a
// message the library parsed: at most one, only in the additional section,
// owned by the root. A misplaced OPT gets FORMERR.
func optPlacementOK(m *dns.Msg) bool {
	for _, rr := range append(m.Answer[:len(m.Answer):len(m.Answer)], m.Ns...) {
		if rr.Header().Rrtype == dns.TypeOPT {
			return false
		}
	}
	n := 0
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			n++
			if n > 1 || rr.Header().Name != "." {
				return false
			}
		}
	}
	return true
}

// udpLimit is the largest UDP reply the requester can take.
func (e ednsInfo) udpLimit() int {
	if !e.present {
		return plainUDPSize
	}
	return int(min(e.size, udpPayload))
}

// opt writes the reply's OPT record: our payload size, version 0, the DO
// bit copied (RFC 3225 §3), the upper rcode bits, and ECS when asked.
func (p *packer) opt(e ednsInfo, rcode int, scope uint8) {
	p.buf = append(p.buf, 0) // root owner
	p.u16(dns.TypeOPT)
	p.u16(udpPayload)
	ttl := uint32(rcode>>4) << 24
	if e.do {
		ttl |= 0x8000
	}
	p.u32(ttl)
	if !e.ecs.present || rcode == dns.RcodeFormatError {
		p.u16(0)
		return
	}
	p.u16(uint16(4 + 4 + e.ecs.addrLen()))
	p.ecs(e.ecs, scope)
}

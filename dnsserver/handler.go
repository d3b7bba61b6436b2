package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// headerLen is the size of the fixed DNS message header.
const headerLen = 12

// Request is one received DNS message and where it came from.
type Request struct {
	Packet []byte
	Client netip.AddrPort
	TCP    bool
}

// outcome describes a handled request for metrics and the query log.
type outcome struct {
	qname string
	qtype uint16
	rcode int
	size  int
}

// Handle answers one request. It calls write once per reply message (AXFR
// writes several) and writes nothing for packets that must be dropped: too
// short to carry a header, or themselves responses.
func (s *Server) Handle(req Request, write func([]byte) error) (outcome, error) {
	p := req.Packet
	if len(p) < headerLen || p[2]&0x80 != 0 {
		return outcome{rcode: -1}, nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil || !countsMatch(p, m) {
		return s.writeError(p, dns.RcodeFormatError, write)
	}
	rep := s.answer(m, req)
	if rep.xfr != nil {
		return rep.out(m), s.transfer(m, rep.xfr, write)
	}
	return s.pack(p, m, rep, req.TCP, write)
}

// reply is a built answer before packing.
type reply struct {
	msg *dns.Msg
	// glue marks a referral: its additional records are required and may
	// not be dropped to fit a UDP reply (RFC 9471).
	glue bool
	xfr  *zone // set for an allowed zone transfer, which streams instead
}

// out describes the exchange for metrics and the query log.
func (r reply) out(m *dns.Msg) outcome {
	var o outcome
	if len(m.Question) == 1 {
		o.qname, o.qtype = m.Question[0].Name, m.Question[0].Qtype
	}
	if r.msg != nil {
		o.rcode = r.msg.Rcode
	}
	return o
}

// answer builds the reply for a parsed request. For an allowed zone
// transfer it returns the zone to stream instead.
func (s *Server) answer(m *dns.Msg, req Request) reply {
	r := new(dns.Msg)
	r.Id, r.Response, r.Opcode = m.Id, true, m.Opcode
	r.RecursionDesired, r.CheckingDisabled = m.RecursionDesired, m.CheckingDisabled
	r.Question = m.Question
	if m.Opcode != dns.OpcodeQuery {
		r.Rcode = dns.RcodeNotImplemented
		return reply{msg: r}
	}
	if len(m.Question) != 1 {
		r.Rcode = dns.RcodeFormatError
		return reply{msg: r}
	}
	e, ok := parseEDNS(m)
	if !ok {
		r.Rcode = dns.RcodeFormatError
		return reply{msg: r}
	}
	var scope uint8
	if e.present {
		defer func() {
			opt := replyOPT(e, r.Rcode)
			if e.ecs.present && r.Rcode != dns.RcodeFormatError {
				opt.Option = append(opt.Option, e.ecs.replyOption(scope))
			}
			r.Extra = append(r.Extra, opt)
		}()
		if e.version > 0 {
			r.Rcode = dns.RcodeBadVers
			return reply{msg: r}
		}
		if !e.ecsOK {
			r.Rcode = dns.RcodeFormatError
			return reply{msg: r}
		}
	}
	q := m.Question[0]
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		r.Rcode = dns.RcodeRefused
		return reply{msg: r}
	}
	snap := s.snap.Load()
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		if z := s.xfrZone(snap, q.Name, req); z != nil {
			return reply{xfr: z}
		}
		r.Rcode = dns.RcodeRefused
		return reply{msg: r}
	}
	res, ok := snap.lookup(query{
		name: q.Name, lname: strings.ToLower(q.Name), qtype: q.Qtype, tcp: req.TCP,
		client: e.ecs.client(req.Client.Addr()), geo: s.cfg.Geo,
	})
	scope = res.scope
	if !ok {
		r.Rcode = dns.RcodeRefused
		return reply{msg: r}
	}
	r.Rcode, r.Authoritative = res.rcode, res.aa
	r.Answer, r.Ns, r.Extra = res.answer, res.ns, res.extra
	return reply{msg: r, glue: res.referral}
}

// pack writes the reply, fitting UDP replies to the requester's limit: first
// by dropping optional additional records, then by truncating (TC) to the
// question and OPT so the requester retries over TCP.
func (s *Server) pack(p []byte, m *dns.Msg, rep reply, tcp bool, write func([]byte) error) (outcome, error) {
	out, r := rep.out(m), rep.msg
	r.Compress = true
	limit := dns.MaxMsgSize
	if !tcp {
		e, _ := parseEDNS(m)
		limit = e.udpLimit()
	}
	buf, err := r.Pack()
	if err == nil && len(buf) > limit && !rep.glue {
		r.Extra = onlyOPT(r.Extra)
		buf, err = r.Pack()
	}
	if err == nil && len(buf) > limit {
		r.Truncated = true
		r.Answer, r.Ns, r.Extra = nil, nil, onlyOPT(r.Extra)
		buf, err = r.Pack()
	}
	if err != nil {
		return s.writeError(p, dns.RcodeServerFailure, write)
	}
	out.size = len(buf)
	return out, write(buf)
}

func onlyOPT(extra []dns.RR) []dns.RR {
	for _, rr := range extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			return []dns.RR{rr}
		}
	}
	return nil
}

// writeError answers a request that could not be parsed (or packed) with a
// bare header: the request's ID, opcode and RD bit, and rcode.
func (s *Server) writeError(p []byte, rcode int, write func([]byte) error) (outcome, error) {
	var h [headerLen]byte
	copy(h[:2], p[:2])
	h[2] = 0x80 | p[2]&0x79 // QR, keep opcode and RD
	h[3] = byte(rcode & 0xF)
	binary.BigEndian.PutUint16(h[4:], 0)
	return outcome{rcode: rcode, size: headerLen}, write(h[:])
}

// countsMatch reports whether every record the header announces was there:
// the parser stops quietly at the end of a short packet.
func countsMatch(p []byte, m *dns.Msg) bool {
	return int(binary.BigEndian.Uint16(p[4:])) == len(m.Question) &&
		int(binary.BigEndian.Uint16(p[6:])) == len(m.Answer) &&
		int(binary.BigEndian.Uint16(p[8:])) == len(m.Ns) &&
		int(binary.BigEndian.Uint16(p[10:])) == len(m.Extra)
}

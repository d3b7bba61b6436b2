package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"

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
	question []byte // as received; the query log decodes the name from it
	qtype    uint16
	rcode    int
	size     int
}

// Handle answers one request. It calls write once per reply message (AXFR
// writes several) and writes nothing for packets that must be dropped: too
// short to carry a header, or themselves responses. write must not keep
// the slice it is given.
//
// Plain queries are read by parseFast; anything else by the general
// parser. Both fill the same request, and respond and the packer are
// shared, so a query gets the same bytes whichever parser read it.
func (s *Server) Handle(req Request, write func([]byte) error) (outcome, error) {
	return s.handle(req, write, true)
}

// handle is Handle, with the fast parser optional so tests can compare
// both paths on the same packets.
func (s *Server) handle(req Request, write func([]byte) error, fast bool) (outcome, error) {
	p := req.Packet
	if len(p) < headerLen || p[2]&0x80 != 0 {
		return outcome{rcode: -1}, nil
	}
	var rq request
	if !(fast && parseFast(p, &rq)) && !parseFull(p, &rq) {
		return s.writeError(p, dns.RcodeFormatError, write)
	}
	return s.respond(&rq, req, write)
}

// parseFull reads any message with the library, into rq.
func parseFull(p []byte, rq *request) bool {
	m := new(dns.Msg)
	if err := m.Unpack(p); err != nil || !countsMatch(p, m) {
		return false
	}
	*rq = request{id: m.Id, opcode: m.Opcode, rd: m.RecursionDesired, cd: m.CheckingDisabled, qdcount: len(m.Question)}
	off := headerLen
	for range m.Question {
		// The library accepts a question cut short of its type and class,
		// and a compressed question name, which a reply echoing the
		// question as received could not point into.
		if hasPointer(p, off) {
			return false
		}
		if off = skipName(p, off); off < 0 || off+4 > len(p) {
			return false
		}
		off += 4
	}
	rq.question = p[headerLen:off]
	if len(m.Question) > 0 {
		q := m.Question[0]
		rq.qname, rq.lname, rq.qtype, rq.qclass = q.Name, strings.ToLower(q.Name), q.Qtype, q.Qclass
	}
	rq.ednsOK = optPlacementOK(m)
	if rq.ednsOK && m.IsEdns0() != nil {
		if opt, ok := findOPT(p); ok {
			rq.ednsOK = parseOPT(opt, &rq.edns)
		}
	}
	return true
}

// reply is an answer before packing.
type reply struct {
	rcode             int
	aa, tc            bool
	opt               bool // carry an OPT record (the request had EDNS)
	scope             uint8
	answer, ns, extra []dns.RR
	lbAddrs           []netip.Addr // steered addresses, written after the answer records
	lbOwner           string
	lbTTL             uint32
	// glue marks a referral: its additional records are required and may
	// not be dropped to fit a UDP reply (RFC 9471).
	glue bool
}

// respond decides the answer to a parsed request and writes it.
func (s *Server) respond(rq *request, req Request, write func([]byte) error) (outcome, error) {
	o := outcome{question: rq.question, qtype: rq.qtype}
	m := reply{opt: rq.edns.present && rq.ednsOK} // RFC 6891 §7: OPT answers OPT
	switch {
	case rq.opcode != dns.OpcodeQuery:
		m.rcode = dns.RcodeNotImplemented
	case rq.qdcount != 1:
		m.rcode = dns.RcodeFormatError
	case !rq.ednsOK && !rq.edns.present:
		m.rcode = dns.RcodeFormatError // OPT misplaced or doubled
	default:
		m.opt = rq.edns.present
		if z := s.decide(rq, req, &m); z != nil {
			return o, s.transfer(rq, z, write)
		}
	}
	o.rcode = m.rcode
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf, err := s.fit(rq, &m, req.TCP, (*bp)[:0])
	if err != nil {
		return s.writeError(req.Packet, dns.RcodeServerFailure, write)
	}
	*bp = buf
	o.size = len(buf)
	return o, write(buf)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1500); return &b }}

// decide fills m for a well-formed query, or returns the zone to transfer.
func (s *Server) decide(rq *request, req Request, m *reply) *zone {
	switch {
	case rq.edns.present && rq.edns.version > 0:
		m.rcode = dns.RcodeBadVers
		return nil
	case !rq.ednsOK:
		m.rcode = dns.RcodeFormatError
		return nil
	case rq.qclass != dns.ClassINET && rq.qclass != dns.ClassANY:
		m.rcode = dns.RcodeRefused
		return nil
	}
	snap := s.snap.Load()
	if rq.qtype == dns.TypeAXFR || rq.qtype == dns.TypeIXFR {
		if z := s.xfrZone(snap, rq.lname, req); z != nil {
			return z
		}
		m.rcode = dns.RcodeRefused
		return nil
	}
	res, ok := snap.lookup(query{
		name: rq.qname, lname: rq.lname, qtype: rq.qtype, tcp: req.TCP,
		client: rq.edns.ecs.client(req.Client.Addr()), geo: s.cfg.Geo,
	})
	if !ok {
		m.rcode = dns.RcodeRefused
		return nil
	}
	m.rcode, m.aa, m.scope, m.glue = res.rcode, res.aa, res.scope, res.referral
	m.answer, m.ns, m.extra = res.answer, res.ns, res.extra
	m.lbAddrs, m.lbOwner, m.lbTTL = res.lbAddrs, res.lbOwner, res.lbTTL
	return nil
}

// fit packs the reply within the requester's limit: first whole, then
// without optional additional records, then truncated (TC) to the
// question and OPT so the requester retries over TCP.
func (s *Server) fit(rq *request, m *reply, tcp bool, buf []byte) ([]byte, error) {
	limit := dns.MaxMsgSize
	if !tcp {
		limit = rq.edns.udpLimit()
	}
	out, err := packReply(buf, rq, m, m.answer, m.ns, m.extra)
	if err == nil && len(out) > limit && !m.glue && len(m.extra) > 0 {
		out, err = packReply(buf, rq, m, m.answer, m.ns, nil)
	}
	if err == nil && len(out) > limit {
		m.tc, m.lbAddrs = true, nil
		out, err = packReply(buf, rq, m, nil, nil, nil)
	}
	return out, err
}

// packReply writes header, question (as received), sections and OPT.
func packReply(buf []byte, rq *request, m *reply, answer, ns, extra []dns.RR) ([]byte, error) {
	p := packer{buf: buf[:0]}
	flags := uint16(1<<15) | uint16(rq.opcode&0xF)<<11 | uint16(m.rcode&0xF)
	if m.aa {
		flags |= 1 << 10
	}
	if m.tc {
		flags |= 1 << 9
	}
	if rq.rd {
		flags |= 1 << 8
	}
	if rq.cd {
		flags |= 1 << 4
	}
	arcount := len(extra)
	if m.opt {
		arcount++
	}
	p.u16(rq.id)
	p.u16(flags)
	p.u16(uint16(rq.qdcount))
	p.u16(uint16(len(answer) + len(m.lbAddrs)))
	p.u16(uint16(len(ns)))
	p.u16(uint16(arcount))
	p.buf = append(p.buf, rq.question...)
	if rq.qdcount == 1 {
		p.seedQuestion(rq.lname)
	}
	for i, sec := range [][]dns.RR{answer, ns, extra} {
		for _, rr := range sec {
			if err := p.rr(rr); err != nil {
				return nil, err
			}
		}
		if i == 0 && len(m.lbAddrs) > 0 {
			if err := p.addrs(m.lbOwner, m.lbTTL, m.lbAddrs); err != nil {
				return nil, err
			}
		}
	}
	if m.opt {
		p.opt(rq.edns, m.rcode, m.scope)
	}
	if len(p.buf) > dns.MaxMsgSize {
		return nil, errTooBig
	}
	return p.buf, nil
}

// writeError answers a request that could not be parsed (or packed) with a
// bare header: the request's ID, opcode and RD bit, and rcode.
func (s *Server) writeError(p []byte, rcode int, write func([]byte) error) (outcome, error) {
	var h [headerLen]byte
	copy(h[:2], p[:2])
	h[2] = 0x80 | p[2]&0x79 // QR, keep opcode and RD
	h[3] = byte(rcode & 0xF)
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

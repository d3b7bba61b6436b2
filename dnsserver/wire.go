package dnsserver

import (
	"encoding/binary"
	"net/netip"
)

// request is a query as a parser read it: the fast one below for plain
// queries, or the library's for everything else. Both end in respond.
type request struct {
	id       uint16
	opcode   int
	rd, cd   bool
	qdcount  int
	question []byte // the question section as received
	qname    string // presentation form, as received (slow path) or lower case (fast path)
	lname    string // lower case
	qtype    uint16
	qclass   uint16
	edns     ednsInfo
	ednsOK   bool // false: a malformed OPT (FORMERR)
}

// parseFast reads a plain query without the general parser: one question
// of ordinary labels (letters, digits, '-', '_', '*'), no answer or
// authority records, and nothing or one OPT record in additional. It
// returns false for anything else, which the full parser then handles.
func parseFast(p []byte, rq *request) bool {
	if len(p) < headerLen || p[2]&0x80 != 0 {
		return false
	}
	h := binary.BigEndian
	if h.Uint16(p[4:]) != 1 || h.Uint16(p[6:]) != 0 || h.Uint16(p[8:]) != 0 || h.Uint16(p[10:]) > 1 {
		return false
	}
	rq.id = h.Uint16(p)
	rq.opcode = int(p[2]>>3) & 0xF
	rq.rd, rq.cd = p[2]&0x01 != 0, p[3]&0x10 != 0
	rq.qdcount = 1
	var lower [255]byte
	n, end, ok := fastName(p, headerLen, &lower)
	if !ok || end+4 > len(p) {
		return false
	}
	rq.lname = string(lower[:n])
	rq.qname = rq.lname
	rq.qtype, rq.qclass = h.Uint16(p[end:]), h.Uint16(p[end+2:])
	rq.question = p[headerLen : end+4]
	rest := p[end+4:]
	rq.ednsOK = true
	if h.Uint16(p[10:]) == 0 {
		return len(rest) == 0
	}
	// The one additional record must be an OPT owned by the root.
	if len(rest) < 11 || rest[0] != 0 || h.Uint16(rest[1:]) != 41 {
		return false
	}
	rdlen := int(h.Uint16(rest[9:]))
	if len(rest) != 11+rdlen {
		return false
	}
	// A malformed OPT goes to the full parser, so both paths answer it alike.
	rq.ednsOK = parseOPT(rest[1:], &rq.edns)
	return rq.ednsOK
}

// fastName reads an uncompressed name of ordinary labels at off into
// lower as lower-case presentation form ("www.example.com.").
func fastName(p []byte, off int, lower *[255]byte) (n, end int, ok bool) {
	for off < len(p) {
		l := int(p[off])
		off++
		if l == 0 {
			if n == 0 {
				lower[0] = '.'
				n = 1
			}
			return n, off, true
		}
		// A name is at most 255 octets on the wire: 254 in presentation.
		if l > 63 || off+l > len(p) || n+l+1 > len(lower)-1 {
			return 0, 0, false
		}
		for _, c := range p[off : off+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '*':
			default:
				return 0, 0, false // escapes and the like: the full parser
			}
			lower[n] = c
			n++
		}
		lower[n] = '.'
		n++
		off += l
	}
	return 0, 0, false
}

// parseOPT reads an OPT record from its TYPE field on (type, class = UDP
// size, TTL = extended rcode, version, flags; RDATA = options) into e. It
// returns false for a malformed ECS option (RFC 7871 §7.1.1), or options
// that overrun the record.
func parseOPT(b []byte, e *ednsInfo) bool {
	h := binary.BigEndian
	e.present = true
	e.size = max(h.Uint16(b[2:]), plainUDPSize)
	e.version = b[5]
	e.do = b[6]&0x80 != 0
	opts := b[10:]
	for len(opts) > 0 {
		if len(opts) < 4 {
			return false
		}
		code, l := h.Uint16(opts), int(h.Uint16(opts[2:]))
		if len(opts) < 4+l {
			return false
		}
		if code == 8 { // EDNS Client Subnet
			if e.ecs.present || !parseECSOption(opts[4:4+l], &e.ecs) {
				return false
			}
		}
		opts = opts[4+l:]
	}
	return true
}

// parseECSOption checks and reads an ECS option's data: a known family, a
// source prefix no longer than the address, exactly the address bytes the
// prefix needs, and no bits set past it.
func parseECSOption(b []byte, e *ecsInfo) bool {
	v, ok := readECS(b)
	if ok {
		*e = v // only a valid option is ever echoed
	}
	return ok
}

func readECS(b []byte) (e ecsInfo, ok bool) {
	if len(b) < 4 {
		return e, false
	}
	e.present = true
	e.family, e.source = binary.BigEndian.Uint16(b), b[2]
	addr := b[4:]
	if len(addr) != (int(e.source)+7)/8 {
		return e, false
	}
	var full [16]byte
	switch e.family {
	case 0: // dig's +subnet=0: no address
		return e, e.source == 0
	case 1:
		if len(addr) > 4 {
			return e, false
		}
		copy(full[:], addr)
		e.addr = netip.AddrFrom4([4]byte(full[:4]))
	case 2:
		if len(addr) > 16 {
			return e, false
		}
		copy(full[:], addr)
		e.addr = netip.AddrFrom16(full)
	default:
		return e, false
	}
	if int(e.source) > e.addr.BitLen() {
		return e, false
	}
	return e, netip.PrefixFrom(e.addr, int(e.source)).Masked().Addr() == e.addr
}

// findOPT walks a whole message for its additional section's OPT record,
// for the full parser's path, so both paths read EDNS with parseOPT. It
// returns the record from its TYPE field on.
func findOPT(p []byte) ([]byte, bool) {
	h := binary.BigEndian
	off := headerLen
	for range h.Uint16(p[4:]) {
		if off = skipName(p, off) + 4; off > len(p) {
			return nil, false
		}
	}
	rrs := int(h.Uint16(p[6:])) + int(h.Uint16(p[8:]))
	add := int(h.Uint16(p[10:]))
	for i := range rrs + add {
		start := skipName(p, off)
		if start < 0 || start+10 > len(p) {
			return nil, false
		}
		end := start + 10 + int(h.Uint16(p[start+8:]))
		if end > len(p) {
			return nil, false
		}
		if i >= rrs && h.Uint16(p[start:]) == 41 {
			return p[start:end], true
		}
		off = end
	}
	return nil, false
}

// skipName returns the offset after the name at off, or -1.
func skipName(p []byte, off int) int {
	for off >= 0 && off < len(p) {
		l := int(p[off])
		switch {
		case l == 0:
			return off + 1
		case l&0xC0 == 0xC0:
			return off + 2
		case l > 63:
			return -1
		}
		off += l + 1
	}
	return -1
}

// hasPointer reports whether the name at off uses a compression pointer.
func hasPointer(p []byte, off int) bool {
	for off < len(p) {
		l := int(p[off])
		switch {
		case l == 0:
			return false
		case l&0xC0 != 0:
			return true
		}
		off += l + 1
	}
	return false
}

package dnsserver

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// errBadLabel is an empty or over-long label.
var errBadLabel = errors.New("bad label")

// errTooBig means the message would pass the 64 KiB DNS limit.
var errTooBig = errors.New("message too big")

// maxCompress bounds the names a packer remembers for compression: a reply
// names few distinct domains, and a small array needs no allocation.
const maxCompress = 24

// packer writes a reply. Both request parsers end here, so a query gets the
// same bytes whichever path parsed it. Names are compressed against the
// question name and names written before, compared case-insensitively, so
// the bytes after the question do not depend on the question's case.
type packer struct {
	buf   []byte
	names [maxCompress]compName
	n     int
}

type compName struct {
	name string // presentation form, any case
	off  int
}

func (p *packer) u16(v uint16) { p.buf = binary.BigEndian.AppendUint16(p.buf, v) }
func (p *packer) u32(v uint32) { p.buf = binary.BigEndian.AppendUint32(p.buf, v) }

// seedQuestion remembers the question name (written at offset 12) and each
// of its suffixes at their wire offsets.
func (p *packer) seedQuestion(lname string) {
	if strings.IndexByte(lname, '\\') >= 0 {
		p.remember(lname, headerLen)
		return
	}
	off := headerLen
	for s := lname; s != "." && s != ""; {
		p.remember(s, off)
		i := strings.IndexByte(s, '.')
		off += i + 1
		s = s[i+1:]
	}
}

func (p *packer) remember(name string, off int) {
	if p.n < maxCompress && off < 0x3FFF {
		p.names[p.n] = compName{name, off}
		p.n++
	}
}

func (p *packer) lookup(suffix string) (int, bool) {
	for i := range p.n {
		if len(p.names[i].name) == len(suffix) && strings.EqualFold(p.names[i].name, suffix) {
			return p.names[i].off, true
		}
	}
	return 0, false
}

// name writes a fully qualified presentation name, compressed.
func (p *packer) name(name string) error {
	if strings.IndexByte(name, '\\') >= 0 {
		// Escaped labels are rare: let the library encode them, uncompressed.
		var tmp [256]byte
		n, err := dns.PackDomainName(name, tmp[:], 0, nil, false)
		if err != nil {
			return err
		}
		p.buf = append(p.buf, tmp[:n]...)
		return nil
	}
	for s := name; s != "." && s != ""; {
		if off, ok := p.lookup(s); ok {
			p.u16(0xC000 | uint16(off))
			return nil
		}
		i := strings.IndexByte(s, '.')
		if i <= 0 || i > 63 {
			return errBadLabel
		}
		p.remember(s, len(p.buf))
		p.buf = append(p.buf, byte(i))
		p.buf = append(p.buf, s[:i]...)
		s = s[i+1:]
	}
	p.buf = append(p.buf, 0)
	return nil
}

// rr writes one resource record. Names in RDATA are compressed only for the
// types RFC 3597 §4 allows.
func (p *packer) rr(rr dns.RR) error {
	h := rr.Header()
	if err := p.name(h.Name); err != nil {
		return err
	}
	p.u16(h.Rrtype)
	p.u16(h.Class)
	p.u32(h.Ttl)
	lenAt := len(p.buf)
	p.u16(0)
	if err := p.rdata(rr); err != nil {
		return err
	}
	rdlen := len(p.buf) - lenAt - 2
	if rdlen > 0xFFFF {
		return errTooBig
	}
	binary.BigEndian.PutUint16(p.buf[lenAt:], uint16(rdlen))
	return nil
}

func (p *packer) rdata(rr dns.RR) error {
	switch rr := rr.(type) {
	case *dns.A:
		p.buf = append(p.buf, rr.A.To4()...)
	case *dns.AAAA:
		p.buf = append(p.buf, rr.AAAA.To16()...)
	case *dns.CNAME:
		return p.name(rr.Target)
	case *dns.NS:
		return p.name(rr.Ns)
	case *dns.PTR:
		return p.name(rr.Ptr)
	case *dns.MX:
		p.u16(rr.Preference)
		return p.name(rr.Mx)
	case *dns.SOA:
		if err := p.name(rr.Ns); err != nil {
			return err
		}
		if err := p.name(rr.Mbox); err != nil {
			return err
		}
		for _, v := range []uint32{rr.Serial, rr.Refresh, rr.Retry, rr.Expire, rr.Minttl} {
			p.u32(v)
		}
	default:
		return p.genericRdata(rr)
	}
	return nil
}

// genericRdata writes the RDATA of a type the packer has no case for:
// packed once when the snapshot was built (wireRR), or, for a record made
// for this reply (wildcard synthesis), packed now from that record.
func (p *packer) genericRdata(rr dns.RR) error {
	if w, ok := rr.(*wireRR); ok {
		p.buf = append(p.buf, w.rdata...)
		return nil
	}
	rdata, err := packRdata(rr)
	if err != nil {
		return err
	}
	p.buf = append(p.buf, rdata...)
	return nil
}

// wireRR is a snapshot record with its RDATA packed in advance. The
// library's packer writes into the record it packs (its RDLENGTH field), so
// packing a shared record on the query path would be a data race; records
// are packed once while their snapshot is built, before anyone reads it.
type wireRR struct {
	dns.RR
	rdata []byte
}

// prepack wraps rr with its packed RDATA unless the packer writes its type
// itself. rr must not be shared yet.
func prepack(rr dns.RR) dns.RR {
	switch rr.(type) {
	case *dns.A, *dns.AAAA, *dns.CNAME, *dns.NS, *dns.PTR, *dns.MX, *dns.SOA, *wireRR:
		return rr
	}
	rdata, err := packRdata(rr)
	if err != nil {
		return rr // packing it in a reply fails the same way, as SERVFAIL
	}
	return &wireRR{RR: rr, rdata: rdata}
}

// packRdata packs rr uncompressed with the library and returns its RDATA.
func packRdata(rr dns.RR) ([]byte, error) {
	tmp := make([]byte, dns.Len(rr)+256)
	n, err := dns.PackRR(rr, tmp, 0, nil, false)
	if err != nil {
		return nil, err
	}
	rdlen := int(binary.BigEndian.Uint16(tmp[rdlenOffset(tmp[:n]):]))
	return tmp[n-rdlen : n : n], nil
}

// rdlenOffset finds the RDLENGTH field of an uncompressed packed RR.
func rdlenOffset(b []byte) int {
	i := 0
	for i < len(b) && b[i] != 0 {
		i += int(b[i]) + 1
	}
	return i + 1 + 8 // root label, then type, class, ttl
}

// addrs writes A or AAAA records of owner, straight from the addresses.
func (p *packer) addrs(owner string, ttl uint32, as []netip.Addr) error {
	for _, a := range as {
		if err := p.name(owner); err != nil {
			return err
		}
		if a.Is4() {
			p.u16(dns.TypeA)
		} else {
			p.u16(dns.TypeAAAA)
		}
		p.u16(dns.ClassINET)
		p.u32(ttl)
		p.u16(uint16(a.BitLen() / 8))
		if a.Is4() {
			b := a.As4()
			p.buf = append(p.buf, b[:]...)
		} else {
			b := a.As16()
			p.buf = append(p.buf, b[:]...)
		}
	}
	return nil
}

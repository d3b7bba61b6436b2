package dnsserver

import (
	"net/netip"
)

// ecsInfo is a request's EDNS Client Subnet option (RFC 7871), as
// parseECSOption read it.
type ecsInfo struct {
	present bool
	family  uint16
	source  uint8      // SOURCE PREFIX-LENGTH
	addr    netip.Addr // the client network's address, masked to source
}

// client is the address steering uses: the ECS network when the resolver
// sent a non-empty one, else the packet's source.
func (e ecsInfo) client(src netip.Addr) netip.Addr {
	if e.present && e.source > 0 && e.addr.IsValid() {
		return e.addr
	}
	return src.Unmap()
}

// addrLen is how many address bytes the option carries for its prefix.
func (e ecsInfo) addrLen() int {
	if e.family == 0 {
		return 0
	}
	return (int(e.source) + 7) / 8
}

// ecs writes the reply's ECS option: the request's family, source prefix
// and address, with the scope the answer depended on (0 when the resolver
// sent no address to depend on).
func (p *packer) ecs(e ecsInfo, scope uint8) {
	p.u16(8)
	p.u16(uint16(4 + e.addrLen()))
	p.u16(e.family)
	if e.source == 0 || !e.addr.IsValid() {
		scope = 0
	}
	p.buf = append(p.buf, e.source, min(scope, uint8(e.addr.BitLen())))
	if n := e.addrLen(); n > 0 {
		a := e.addr.AsSlice()
		p.buf = append(p.buf, a[:n]...)
	}
}

package dnsserver

import (
	"net/netip"

	"github.com/miekg/dns"
)

// ecsInfo is a request's EDNS Client Subnet option (RFC 7871).
type ecsInfo struct {
	present bool
	family  uint16
	source  uint8      // SOURCE PREFIX-LENGTH
	addr    netip.Addr // the client network's address, masked to source
}

// parseECS finds and checks the ECS option. ok is false for a malformed
// option (RFC 7871 §7.1.1: FORMERR): an unknown family, a source prefix
// longer than the address, or address bits set past the prefix.
func parseECS(opt *dns.OPT) (e ecsInfo, ok bool) {
	if opt == nil {
		return e, true
	}
	for _, o := range opt.Option {
		sub, isECS := o.(*dns.EDNS0_SUBNET)
		if !isECS {
			continue
		}
		if e.present {
			return e, false // one ECS option per message
		}
		e.present, e.family, e.source = true, sub.Family, sub.SourceNetmask
		var a netip.Addr
		switch sub.Family {
		case 0: // dig's +subnet=0: no address given
			if sub.SourceNetmask != 0 {
				return e, false
			}
			continue
		case 1:
			a, _ = netip.AddrFromSlice(sub.Address.To4())
		case 2:
			a, _ = netip.AddrFromSlice(sub.Address.To16())
		default:
			return e, false
		}
		if !a.IsValid() || int(sub.SourceNetmask) > a.BitLen() {
			return e, false
		}
		p := netip.PrefixFrom(a, int(sub.SourceNetmask)).Masked()
		if p.Addr() != a {
			return e, false
		}
		e.addr = a
	}
	return e, true
}

// client is the address steering uses: the ECS network when the resolver
// sent a non-empty one, else the packet's source.
func (e ecsInfo) client(src netip.Addr) netip.Addr {
	if e.present && e.source > 0 && e.addr.IsValid() {
		return e.addr
	}
	return src.Unmap()
}

// replyOption is the ECS option for the reply: the request's family, source
// prefix and address, with the scope the answer depended on (0 when the
// resolver sent no address to depend on).
func (e ecsInfo) replyOption(scope uint8) *dns.EDNS0_SUBNET {
	o := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: e.family, SourceNetmask: e.source}
	if e.addr.IsValid() {
		o.Address = e.addr.AsSlice()
		if e.source > 0 {
			o.SourceScope = min(scope, uint8(e.addr.BitLen()))
		}
	}
	return o
}

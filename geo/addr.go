package geo

import (
	"math/bits"
	"net/netip"
)

// key is an address as a 128-bit number, left-aligned: an IPv4 address fills
// the top 32 bits of hi. Left-aligning both families lets one set of
// comparisons and common-prefix computations serve both, and bit i of the
// address is bit i of the key.
type key struct{ hi, lo uint64 }

func keyOf(a netip.Addr) key {
	if a.Is4() {
		b := a.As4()
		return key{hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32}
	}
	b := a.As16()
	return key{
		hi: uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
			uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7]),
		lo: uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 |
			uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15]),
	}
}

func (k key) less(o key) bool {
	return k.hi < o.hi || (k.hi == o.hi && k.lo < o.lo)
}

// commonBits is the number of leading bits k and o share (128 if equal).
func (k key) commonBits(o key) int {
	if x := k.hi ^ o.hi; x != 0 {
		return bits.LeadingZeros64(x)
	}
	return 64 + bits.LeadingZeros64(k.lo^o.lo)
}

// normalize strips the zone and unmaps IPv4-mapped IPv6, so that
// ::ffff:198.18.0.1 and 198.18.0.1 are the same client everywhere.
func normalize(a netip.Addr) netip.Addr {
	return a.WithZone("").Unmap()
}

// hostPrefix is a's full-length prefix: the narrowest, always-correct network
// to report when nothing wider is known. The zero Addr gives the zero Prefix.
func hostPrefix(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// unmapPrefix turns a prefix inside ::ffff:0:0/96 into the IPv4 prefix it
// describes and returns every other prefix unchanged.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

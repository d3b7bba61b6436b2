package zones

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// SortRecords puts rrs in the order lbdns stores, lists and exports them:
// SOA first, then owner in DNSSEC canonical name order (RFC 4034 §6.1:
// labels compared right to left as lower-cased octet strings), then type
// number, then RDATA text. A fixed order makes exports diffable and lets
// an export round-trip byte for byte.
func SortRecords(rrs []dns.RR) {
	type keyed struct {
		key []byte
		rr  dns.RR
	}
	ks := make([]keyed, len(rrs))
	for i, rr := range rrs {
		ks[i] = keyed{sortKey(rr), rr}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return bytes.Compare(a.key, b.key) })
	for i := range ks {
		rrs[i] = ks[i].rr
	}
}

// sortKey is a byte string whose order is the SortRecords order.
func sortKey(rr dns.RR) []byte {
	flag := byte(1)
	if rr.Header().Rrtype == dns.TypeSOA {
		flag = 0
	}
	k := append([]byte{flag}, setKey(rr.Header().Name, rr.Header().Rrtype)...)
	return append(k, rdataText(rr)...)
}

// nameKey encodes a name so that byte order is canonical name order: the
// labels from the right, each lower-cased and terminated by 0x00, then a
// final 0x00. Octets 0x00 and 0x01 inside a label are escaped as 0x01 0x01
// and 0x01 0x02 so that a terminator always sorts below label content,
// which makes a shorter name sort before its children and makes
// nameKey(n) a prefix of no other name's key.
func nameKey(name string) []byte {
	labels := dns.SplitDomainName(name)
	k := make([]byte, 0, len(name)+2)
	for i := len(labels) - 1; i >= 0; i-- {
		for _, c := range decodeLabel(labels[i]) {
			switch {
			case c <= 0x01:
				k = append(k, 0x01, c+1)
			case c >= 'A' && c <= 'Z':
				k = append(k, c+'a'-'A')
			default:
				k = append(k, c)
			}
		}
		k = append(k, 0x00)
	}
	return append(k, 0x00)
}

// setKey identifies an RRset: nameKey followed by the type, big-endian.
func setKey(name string, rrtype uint16) []byte {
	return binary.BigEndian.AppendUint16(nameKey(name), rrtype)
}

// rdataText is the record's RDATA in presentation format: its String()
// without the owner, TTL, class and type.
func rdataText(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

package dnsserver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// xfrChunk is how many bytes of records go into one AXFR message; well under
// the 64 KiB TCP message limit.
const xfrChunk = 16 * 1024

// xfrZone returns the zone to transfer when the request may have it: over
// TCP, from an allowed network, for the apex of a served zone.
func (s *Server) xfrZone(snap *Snapshot, qname string, req Request) *zone {
	if !req.TCP || !s.transferAllowed(req.Client.Addr()) {
		return nil
	}
	return snap.zones[strings.ToLower(qname)]
}

func (s *Server) transferAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.AllowTransfer {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// transfer streams the zone as AXFR (RFC 5936): the SOA, every record, and
// the SOA again, over as many messages as it takes. IXFR gets the same full
// transfer, which RFC 1995 §4 allows. Messages are written by the same
// packer as answers, which never writes into the snapshot's records.
func (s *Server) transfer(rq *request, z *zone, write func([]byte) error) error {
	rrs := z.allRecords() // SOA first
	rrs = append(rrs, z.soa)
	m := reply{aa: true, opt: rq.edns.present && rq.ednsOK}
	for len(rrs) > 0 {
		n, size := 0, 0
		for n < len(rrs) {
			l := dns.Len(rrs[n])
			if n > 0 && size+l > xfrChunk {
				break
			}
			size += l
			n++
		}
		buf, err := packReply(nil, rq, &m, rrs[:n], nil, nil)
		if err != nil {
			return err
		}
		if err := write(buf); err != nil {
			return err
		}
		rrs = rrs[n:]
	}
	return nil
}

// allRecords returns every record of the zone in canonical order, SOA
// first. It walks the whole table, which only a transfer needs.
func (z *zone) allRecords() []dns.RR {
	rrs := make([]dns.RR, 0, z.nodes.count+1)
	for _, sh := range z.nodes.shards {
		for _, n := range sh {
			rrs = append(rrs, n.records()...)
		}
	}
	zones.SortRecords(rrs)
	return rrs
}

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"

	"github.com/miekg/dns"
)

// Query files are written in dnsperf's binary format (-B): each query is a
// whole DNS message preceded by its 2-byte length, and dnsperf sends it as
// is, rewriting only the ID. That is the one way this dnsperf (2.10) can
// send a different EDNS Client Subnet per query: its -E option adds the
// same option to every query of a run. All files use the format, so every
// run sends EDNS as resolvers do, and NSD and lbdns get identical bytes.

// ednsSize is the UDP payload size advertised, the DNS Flag Day 2020 value
// most resolvers use.
const ednsSize = 1232

// packQuery builds q as a resolver would send it to an authoritative
// server: no recursion desired, EDNS0, and ECS when q has a client network.
func packQuery(q query) ([]byte, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	m.RecursionDesired = false
	opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	opt.SetUDPSize(ednsSize)
	if q.ecs.IsValid() {
		family := uint16(1)
		if q.ecs.Addr().Is6() {
			family = 2
		}
		opt.Option = append(opt.Option, &dns.EDNS0_SUBNET{
			Code:          dns.EDNS0SUBNET,
			Family:        family,
			SourceNetmask: uint8(q.ecs.Bits()),
			Address:       q.ecs.Addr().AsSlice(),
		})
	}
	m.Extra = append(m.Extra, opt)
	return m.Pack()
}

// writeQueryFile writes qs to path in dnsperf's binary format.
func writeQueryFile(path string, qs []query) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, q := range qs {
		b, err := packQuery(q)
		if err != nil {
			f.Close()
			return fmt.Errorf("%s %s: %w", q.name, dns.TypeToString[q.qtype], err)
		}
		w.Write(binary.BigEndian.AppendUint16(nil, uint16(len(b))))
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lbQueries asks for name from count random picks of clients: A for
// seven in ten, AAAA for the rest, whatever the client's family, as
// dual-stack hosts behind a resolver do.
func lbQueries(rng *rand.Rand, name string, clients []netip.Prefix, count int) []query {
	qs := make([]query, count)
	for i := range qs {
		t := dns.TypeA
		if rng.IntN(10) >= 7 {
			t = dns.TypeAAAA
		}
		qs[i] = query{name: name, qtype: t, ecs: clients[rng.IntN(len(clients))]}
	}
	return qs
}

// mixedQueries interleaves the other sets in a production-like blend for
// the fixed-rate run: 60% static hits, 10% NXDOMAIN, 30% load-balanced
// names split evenly over the policies.
func mixedQueries(rng *rand.Rand, static, nx []query, lb [][]query, count int) []query {
	qs := make([]query, count)
	for i := range qs {
		switch r := rng.IntN(100); {
		case r < 60:
			qs[i] = static[rng.IntN(len(static))]
		case r < 70:
			qs[i] = nx[rng.IntN(len(nx))]
		default:
			set := lb[rng.IntN(len(lb))]
			qs[i] = set[rng.IntN(len(set))]
		}
	}
	return qs
}

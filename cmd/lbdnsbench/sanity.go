package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/miekg/dns"
)

// checkAnswers asks a sample of the benchmark's own questions before any
// run, so that a table never reports the speed of wrong answers: NSD and
// lbdns must give the same rcode and answer section for static names and
// NXDOMAIN for missing ones, and each load-balanced name must steer.
func (b *bench) checkAnswers() error {
	rng := rand.New(rand.NewPCG(3, 4))
	nsd, lb := b.servers[serverNSD], b.servers[serverLBDNS]
	for _, q := range staticQueries(rng, b.files.hits, 200) {
		if err := sameAnswer(nsd, lb, q, dns.RcodeSuccess); err != nil {
			return err
		}
	}
	for _, q := range nxQueries(rng, 50) {
		if err := sameAnswer(nsd, lb, q, dns.RcodeNameError); err != nil {
			return err
		}
	}
	return checkSteering(lb)
}

// sameAnswer requires both servers to answer q with rcode and the same
// answer records.
func sameAnswer(a, b *server, q query, rcode int) error {
	var answers [2][]string
	for i, s := range []*server{a, b} {
		r, err := s.exchange(q)
		if err != nil {
			return fmt.Errorf("%s: %s %s: %w", s.name, q.name, dns.TypeToString[q.qtype], err)
		}
		if r.Rcode != rcode || (rcode == dns.RcodeSuccess && len(r.Answer) == 0) {
			return fmt.Errorf("%s: %s %s: rcode %s with %d answers, want %s with answers",
				s.name, q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[rcode])
		}
		for _, rr := range r.Answer {
			answers[i] = append(answers[i], rr.String())
		}
		slices.Sort(answers[i])
	}
	if !slices.Equal(answers[0], answers[1]) {
		return fmt.Errorf("%s %s: %s answers %q, %s answers %q",
			q.name, dns.TypeToString[q.qtype], a.name, answers[0], b.name, answers[1])
	}
	return nil
}

// checkSteering asks each load-balanced name for a client in a network the
// GeoIP database places in Tokyo: geo must answer the nrt site first with
// the database network (/16) as ECS scope, hash must scope to the /24, and
// every policy must answer.
func checkSteering(s *server) error {
	client := netip.MustParsePrefix("100.74.1.0/24") // /16 number 10: nrt
	nrt := netip.MustParseAddr(vips(slices.Index(siteCities, "nrt"))[0])
	want := map[string]struct {
		first netip.Addr
		scope int
	}{
		geoName:      {nrt, 16},
		weightedName: {netip.Addr{}, 0},
		hashName:     {netip.Addr{}, 24},
	}
	for name, w := range want {
		r, err := s.exchange(query{name: name, qtype: dns.TypeA, ecs: client})
		if err != nil {
			return fmt.Errorf("%s: %s: %w", s.name, name, err)
		}
		first, scope := firstA(r), ecsScope(r)
		if !first.IsValid() || (w.first.IsValid() && first != w.first) || scope != w.scope {
			return fmt.Errorf("%s: %s A for client %s: first address %v, ECS scope %d; want %v, scope %d",
				s.name, name, client, first, scope, w.first, w.scope)
		}
	}
	return nil
}

// firstA is the first A record's address in r's answer.
func firstA(r *dns.Msg) netip.Addr {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			addr, _ := netip.AddrFromSlice(a.A.To4())
			return addr
		}
	}
	return netip.Addr{}
}

// ecsScope is the SCOPE PREFIX-LENGTH of r's ECS option, or -1.
func ecsScope(r *dns.Msg) int {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_SUBNET); ok {
				return int(e.SourceScope)
			}
		}
	}
	return -1
}

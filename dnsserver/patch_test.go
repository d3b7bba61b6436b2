package dnsserver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// TestPatchMatchesCompile applies random record changes to a snapshot one
// at a time and checks, after each, that it answers every query exactly as
// a snapshot compiled from scratch from the same records: names appear and
// go, empty non-terminals come and go with their children, delegations
// and wildcards move, and the SOA changes.
func TestPatchMatchesCompile(t *testing.T) {
	const origin = "p.example."
	recs := map[string][]dns.RR{}
	mustRR := func(s string) dns.RR {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return rr
	}
	recs[origin] = []dns.RR{
		mustRR(origin + " 3600 IN SOA ns1.p.example. h.p.example. 1 3600 600 1209600 300"),
		mustRR(origin + " 3600 IN NS ns1.p.example."),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	labels := []string{"a", "b", "*"}
	randName := func() string {
		n := origin
		for range 1 + rng.IntN(3) {
			n = labels[rng.IntN(len(labels))] + "." + n
		}
		return n
	}
	all := func() *zones.Zone {
		z := &zones.Zone{Origin: origin}
		for _, rrs := range recs {
			z.Records = append(z.Records, rrs...)
		}
		zones.SortRecords(z.Records)
		return z
	}
	snap, err := Compile([]*zones.Zone{all()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for step := range 300 {
		name := randName()
		var rrs []dns.RR
		switch rng.IntN(4) {
		case 0: // remove an existing name
			for n := range recs {
				if n != origin {
					name = n
					break
				}
			}
		case 1:
			rrs = []dns.RR{mustRR(fmt.Sprintf("%s 300 IN A 192.0.2.%d", name, step%250))}
		case 2:
			rrs = []dns.RR{mustRR(name + " 300 IN NS ns.other.example.")}
		default:
			rrs = []dns.RR{mustRR(fmt.Sprintf("%s 300 IN TXT \"%d\"", name, step)), mustRR(name + " 300 IN AAAA 2001:db8::1")}
		}
		soa := mustRR(fmt.Sprintf("%s 3600 IN SOA ns1.p.example. h.p.example. %d 3600 600 1209600 300", origin, step+2))
		recs[origin][0] = soa
		if len(rrs) == 0 {
			delete(recs, name)
		} else {
			recs[name] = rrs
		}
		snap, err = snap.Apply(Patch{Names: map[string]map[string][]dns.RR{origin: {name: rrs, origin: recs[origin]}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Compile([]*zones.Zone{all()}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		compareSnapshots(t, step, snap, want, origin, labels)
	}
}

// compareSnapshots queries both snapshots for every name up to three
// labels deep and several types, and wants byte-identical replies.
func compareSnapshots(t *testing.T, step int, got, want *Snapshot, origin string, labels []string) {
	t.Helper()
	if got.zones[origin].nodes.count != want.zones[origin].nodes.count {
		t.Fatalf("step %d: %d nodes after patching, %d compiled", step, got.zones[origin].nodes.count, want.zones[origin].nodes.count)
	}
	names := []string{origin}
	for range 3 {
		for _, n := range slices.Clone(names) {
			for _, l := range labels {
				names = append(names, l+"."+n)
			}
		}
	}
	sg, sw := New(Config{}, got), New(Config{}, want)
	for _, n := range names {
		for _, qt := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeNS, dns.TypeSOA} {
			p, _ := question(n, qt).Pack()
			a, b := collect(t, sg, p, true, true), collect(t, sw, p, true, true)
			if !bytes.Equal(a, b) {
				ra, rb := new(dns.Msg), new(dns.Msg)
				ra.Unpack(a)
				rb.Unpack(b)
				t.Fatalf("step %d: %s %s differs\npatched:\n%v\ncompiled:\n%v", step, n, dns.TypeToString[qt], ra, rb)
			}
		}
	}
}

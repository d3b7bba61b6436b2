package main

import "fmt"

// The rows of the table, in the order they run. NSD and lbdns alternate
// which goes first (static: NSD first, NXDOMAIN: lbdns first), so neither
// always gets the warmer or the cooler machine.
const (
	labelNSDStatic = "NSD static"
	labelNSDNX     = "NSD NXDOMAIN"
)

// closedLoopRuns are the runs that send as fast as the server answers.
func closedLoopRuns(cfg config) []runSpec {
	ok := []string{"NOERROR"}
	nx := []string{"NXDOMAIN"}
	return []runSpec{
		{label: labelNSDStatic, server: serverNSD, set: setStatic, expect: ok},
		{label: "lbdns static", server: serverLBDNS, set: setStatic, ref: labelNSDStatic, expect: ok},
		{label: "lbdns NXDOMAIN", server: serverLBDNS, set: setNX, ref: labelNSDNX, expect: nx},
		{label: labelNSDNX, server: serverNSD, set: setNX, expect: nx},
		{label: "lbdns LB geo, ECS", server: serverLBDNS, set: setGeo, ref: labelNSDStatic, expect: ok},
		{label: "lbdns LB weighted, ECS", server: serverLBDNS, set: setWeighted, ref: labelNSDStatic, expect: ok},
		{label: "lbdns LB hash, ECS", server: serverLBDNS, set: setHash, ref: labelNSDStatic, expect: ok},
	}
}

// runSpecs is every run: the closed-loop ones, then the fixed-rate run
// with zone changes, unless cfg.rateDuration is 0.
func runSpecs(cfg config) []runSpec {
	specs := closedLoopRuns(cfg)
	for i := range specs {
		specs[i].duration = cfg.duration
	}
	if cfg.rateDuration > 0 {
		specs = append(specs, runSpec{
			label:  fmt.Sprintf("lbdns mixed, %dk QPS offered, zone change/s", cfg.rate/1000),
			server: serverLBDNS, set: setMixed, rate: cfg.rate, duration: cfg.rateDuration,
			churn: true, ref: labelNSDStatic, expect: []string{"NOERROR", "NXDOMAIN"},
		})
	}
	return specs
}

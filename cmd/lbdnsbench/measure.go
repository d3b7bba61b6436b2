package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// runSpec is one row of the table: a server, a query set and a load.
type runSpec struct {
	label    string
	server   string // serverNSD or serverLBDNS
	set      string // query set
	rate     int    // -Q; 0 = closed loop, as fast as answered
	duration time.Duration
	churn    bool     // change the zone every second during the run
	ref      string   // label of the NSD row the ratios compare with
	expect   []string // the rcodes answers may carry
}

const (
	serverNSD   = "nsd"
	serverLBDNS = "lbdns"
)

// sample is one measured run.
type sample struct {
	perfResult
	cpuPerQuery float64 // server CPU µs per completed query
	rssKiB      uint64
	clientLoad  float64 // dnsperf CPU time / wall time: near 1 means dnsperf was the limit
	otherLoad   float64 // share of the server's core used by other processes
	churn       churnStats
	badRcodes   uint64 // answers with an rcode not in spec.expect
}

// bench is everything a run needs: the servers and how to reach them.
type bench struct {
	cfg     config
	files   benchFiles
	servers map[string]*server
	lb      lbdnsCLI
	procs   *procSet // every server started, stopped on the way out
}

// measure runs spec once. The server's CPU is read from /proc before and
// after dnsperf, so it covers exactly the load plus the short wait for the
// last answers, and with it how busy the server's core was with anything
// else, which tells whether the machine was quiet enough to trust the row.
func (b *bench) measure(ctx context.Context, spec runSpec, rep int) (sample, error) {
	s := b.servers[spec.server]
	var serial0 uint32
	if spec.churn {
		serial0, _ = s.soaSerial()
	}
	cpu0, core0, err := b.snapshot(s)
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	var ch *churner
	if spec.churn {
		ch = startChurn(ctx, b.lb, time.Second, fmt.Sprint(rep))
	}
	r, err := runDNSPerf(ctx, b.perfArgs(spec, s))
	var cs churnStats
	if ch != nil {
		cs = ch.stop()
	}
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", spec.label, err)
	}
	wall := time.Since(start)
	cpu1, core1, err := b.snapshot(s)
	if err != nil {
		return sample{}, err
	}
	if s.exited() {
		return sample{}, fmt.Errorf("%s exited during %s: %v; log:\n%s", s.name, spec.label, s.waitErr, s.logTail())
	}
	if spec.churn {
		serial1, _ := s.soaSerial()
		cs.serialDelta = serial1 - serial0
	}
	return newSample(spec, r, cpu1-cpu0, core1-core0, wall, groupRSS(s.pid()), cs), nil
}

// snapshot reads the server's CPU ticks and its core's process ticks.
func (b *bench) snapshot(s *server) (srv, core uint64, err error) {
	cores, err := cpuProcTicks()
	if err != nil {
		return 0, 0, err
	}
	return groupCPU(s.pid()), cores[b.cfg.serverCPU], nil
}

// perfArgs is spec as a dnsperf invocation against s.
func (b *bench) perfArgs(spec runSpec, s *server) perfArgs {
	return perfArgs{
		server:    s.addr,
		queryFile: b.files.queries[spec.set],
		clients:   b.cfg.clients,
		maxOut:    b.cfg.outstanding,
		duration:  spec.duration,
		rate:      spec.rate,
		pin:       b.cfg.pin(b.cfg.clientCPU),
		outPath:   filepath.Join(b.files.dir, "dnsperf.out"),
	}
}

// newSample turns raw counters into per-query and per-second figures.
func newSample(spec runSpec, r perfResult, serverTicks, coreTicks uint64, wall time.Duration, rss uint64, cs churnStats) sample {
	sm := sample{perfResult: r, rssKiB: rss, churn: cs}
	if r.completed > 0 {
		sm.cpuPerQuery = ticksToMicros(serverTicks) / float64(r.completed)
	}
	sm.clientLoad = r.clientCPU.Seconds() / wall.Seconds()
	if coreTicks > serverTicks {
		sm.otherLoad = ticksToMicros(coreTicks-serverTicks) / float64(wall.Microseconds())
	}
	for rc, n := range r.rcodes {
		if !slices.Contains(spec.expect, rc) {
			sm.badRcodes += n
		}
	}
	return sm
}

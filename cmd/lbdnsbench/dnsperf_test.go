package main

import (
	"strings"
	"testing"
	"time"
)

// verboseOutput is dnsperf 2.10 -v output, abridged, with one timeout.
const verboseOutput = `DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -B -v -s 127.0.0.1 -p 5300 -d q.bin -l 3
[Status] Sending queries (to 127.0.0.1:5300)
> NOERROR www.example.com A 0.000100
> NXDOMAIN nope.example.com A 0.000200
> NOERROR www.example.com A 0.000300
> T www.example.com A
> NOERROR www.example.com A 0.004000
[Status] Testing complete (time limit)

Statistics:

  Queries sent:         5
  Queries completed:    4 (80.00%)
  Queries lost:         1 (20.00%)

  Response codes:       NOERROR 3 (75.00%), NXDOMAIN 1 (25.00%)
  Average packet size:  request 33, response 66
  Run time (s):         3.046588
  Queries per second:   1.312913

  Average Latency (s):  0.001150 (min 0.000100, max 0.004000)
  Latency StdDev (s):   0.001700
`

func TestParseDNSPerf(t *testing.T) {
	r, err := parseDNSPerf(strings.NewReader(verboseOutput))
	if err != nil {
		t.Fatal(err)
	}
	if r.sent != 5 || r.completed != 4 || r.lost != 1 {
		t.Errorf("sent/completed/lost = %d/%d/%d, want 5/4/1", r.sent, r.completed, r.lost)
	}
	if r.qps != 1.312913 || r.runTime != 3046588*time.Microsecond || r.avgLatency != 1150*time.Microsecond {
		t.Errorf("qps %v, run time %v, avg %v", r.qps, r.runTime, r.avgLatency)
	}
	if r.rcodes["NOERROR"] != 3 || r.rcodes["NXDOMAIN"] != 1 {
		t.Errorf("rcodes %v", r.rcodes)
	}
	// Four answered latencies; the timeout has none. Nearest rank 99% of 4
	// is the 4th.
	if r.p99 != 4*time.Millisecond {
		t.Errorf("p99 %v, want 4ms", r.p99)
	}
}

func TestParseDNSPerfWithoutStatistics(t *testing.T) {
	if _, err := parseDNSPerf(strings.NewReader("> NOERROR a A 0.1\n")); err == nil {
		t.Error("output without a statistics block parsed")
	}
}

func TestPercentile(t *testing.T) {
	lat := make([]uint32, 1000)
	for i := range lat {
		lat[i] = uint32(1000 - i) // 1000..1 µs, unsorted
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.99, 990 * time.Microsecond}, {0.5, 500 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		if got := percentile(lat, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 0.99) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	r := row{samples: []sample{{perfResult: perfResult{qps: 30}}, {perfResult: perfResult{qps: 10}}, {perfResult: perfResult{qps: 20}}}}
	if got := r.qps(); got != 20 {
		t.Errorf("median of 30, 10, 20 = %v", got)
	}
	r.samples = r.samples[:2]
	if got := r.qps(); got != 20 {
		t.Errorf("median of 30, 10 = %v", got)
	}
}

// TestTableRatios checks lbdns is divided by the NSD row it names, and
// that a fixed-rate row gets no QPS ratio.
func TestTableRatios(t *testing.T) {
	nsd := row{spec: runSpec{label: labelNSDStatic}, samples: []sample{{perfResult: perfResult{qps: 100000}, cpuPerQuery: 5}}}
	lb := row{spec: runSpec{label: "lbdns static", ref: labelNSDStatic}, samples: []sample{{perfResult: perfResult{qps: 50000}, cpuPerQuery: 10}}}
	fixed := row{spec: runSpec{label: "fixed", ref: labelNSDStatic, rate: 50000}, samples: []sample{{perfResult: perfResult{qps: 50000}, cpuPerQuery: 6}}}
	out := table([]row{nsd, lb, fixed})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("table has %d lines:\n%s", len(lines), out)
	}
	cells := func(l string) []string {
		f := strings.Split(l, "|")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		return f[1 : len(f)-1]
	}
	if c := cells(lines[3]); c[8] != "0.50" || c[9] != "2.00" {
		t.Errorf("lbdns ratios %q %q, want 0.50 2.00", c[8], c[9])
	}
	if c := cells(lines[4]); c[8] != "—" || c[9] != "1.20" {
		t.Errorf("fixed-rate ratios %q %q, want — 1.20", c[8], c[9])
	}
}

package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// row is one run's samples, reduced to medians for the table.
type row struct {
	spec    runSpec
	samples []sample
}

// median is the median of f over the row's samples; each column's median
// is taken on its own, so a row need not be any single sample.
func (r row) median(f func(sample) float64) float64 {
	v := make([]float64, len(r.samples))
	for i, s := range r.samples {
		v[i] = f(s)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (r row) qps() float64         { return r.median(func(s sample) float64 { return s.qps }) }
func (r row) cpuPerQuery() float64 { return r.median(func(s sample) float64 { return s.cpuPerQuery }) }

// tableHeader names the columns. The ratios divide lbdns by the NSD row
// named in "vs"; for the fixed-rate row only CPU per query compares, as
// its QPS is set by dnsperf.
var tableHeader = []string{"run", "QPS", "lost", "avg latency", "p99 latency", "CPU µs/query",
	"RSS", "vs", "QPS lbdns/NSD", "CPU/query lbdns/NSD", "dnsperf core", "other load, server core"}

// table renders rows as one Markdown table with aligned columns, readable
// both in a terminal and rendered.
func table(rows []row) string {
	byLabel := map[string]row{}
	for _, r := range rows {
		byLabel[r.spec.label] = r
	}
	cells := [][]string{tableHeader}
	for _, r := range rows {
		cells = append(cells, rowCells(r, byLabel))
	}
	return markdown(cells)
}

// rowCells formats one row's medians.
func rowCells(r row, byLabel map[string]row) []string {
	lost := r.median(func(s sample) float64 { return float64(s.lost) })
	sent := r.median(func(s sample) float64 { return float64(s.sent) })
	c := []string{
		r.spec.label,
		fmt.Sprintf("%.0f", r.qps()),
		lostCell(lost, sent),
		latency(r.median(func(s sample) float64 { return float64(s.avgLatency) })),
		latency(r.median(func(s sample) float64 { return float64(s.p99) })),
		fmt.Sprintf("%.2f", r.cpuPerQuery()),
		fmt.Sprintf("%.1f MiB", r.median(func(s sample) float64 { return float64(s.rssKiB) })/1024),
		"—", "—", "—",
		percent(r.median(func(s sample) float64 { return s.clientLoad })),
		percent(r.median(func(s sample) float64 { return s.otherLoad })),
	}
	if ref, ok := byLabel[r.spec.ref]; ok && r.spec.ref != "" {
		c[7] = ref.spec.label
		if r.spec.rate == 0 {
			c[8] = fmt.Sprintf("%.2f", r.qps()/ref.qps())
		}
		c[9] = fmt.Sprintf("%.2f", r.cpuPerQuery()/ref.cpuPerQuery())
	}
	return c
}

func lostCell(lost, sent float64) string {
	if lost == 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f (%.3f%%)", lost, 100*lost/sent)
}

// latency formats nanoseconds as µs below a millisecond, else as ms.
func latency(ns float64) string {
	d := time.Duration(ns)
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", ns/1e6)
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// markdown pads every column to its widest cell.
func markdown(cells [][]string) string {
	width := make([]int, len(cells[0]))
	for _, r := range cells {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for i, c := range r {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	line(cells[0])
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	line(sep)
	for _, r := range cells[1:] {
		line(r)
	}
	return b.String()
}

// notes are the lines under the table: how it was measured, and anything
// that makes a row suspect.
func notes(cfg config, env environment, rows []row) []string {
	n := []string{
		fmt.Sprintf("Medians of %d repetition(s), interleaved. Closed-loop runs: dnsperf -c %d -q %d for %s; fixed-rate run: -Q %d for %s with a zone change (lbdns record add/delete through the admin API) every second.",
			cfg.reps, cfg.clients, cfg.outstanding, cfg.duration, cfg.rate, cfg.rateDuration),
		fmt.Sprintf("Zone %s: %d names; LB queries carry ECS from %d client networks (per-query ECS via dnsperf -B binary query files). p99 from dnsperf -v per-response latencies; lost queries excluded from latencies.",
			benchOrigin, cfg.names, cfg.prefixes),
		fmt.Sprintf("Servers pinned to CPU %d, dnsperf to CPU %d, %s; %s; %s; %s. Load average at start %s, at end %s.",
			cfg.serverCPU, cfg.clientCPU, schedName(cfg.rt), env.cpus, env.dnsperf, env.nsd, env.loadStart, env.loadEnd),
		"CPU µs/query: server utime+stime from /proc/PID/stat over its process group (NSD works in forked children). RSS: VmRSS of the group's largest process.",
	}
	if cfg.rateDuration > 0 {
		n = append(n, fmt.Sprintf("Fixed-rate run: dnsperf keeps at most %d queries outstanding, %s of traffic at %d QPS; a longer server stall delays sending instead of adding latency, so read p99 together with the QPS achieved. Its CPU/query ratio is against NSD's closed-loop static run: at a fixed rate a server handles fewer queries per wake-up, and lbdns also rebuilds its snapshot for every change, so expect it higher.",
			cfg.outstanding, time.Duration(float64(cfg.outstanding)/float64(cfg.rate)*float64(time.Second)), cfg.rate))
	}
	for _, r := range rows {
		n = append(n, rowWarnings(r, cfg.rt)...)
	}
	return n
}

// rowWarnings flags rows whose numbers measure something other than the
// server: wrong answers, a saturated dnsperf, a server core shared with
// other processes (which, under SCHED_FIFO, only fill time the server left
// idle, so it is not flagged then). For the churn row it also says what the churn did. A
// flagged row lists every repetition's value, so the spread shows.
func rowWarnings(r row, rt bool) []string {
	var w []string
	each := func(f func(sample) string) string {
		v := make([]string, len(r.samples))
		for i, s := range r.samples {
			v[i] = f(s)
		}
		return strings.Join(v, ", ")
	}
	if anySample(r, func(s sample) bool { return s.badRcodes > 0 }) {
		w = append(w, fmt.Sprintf("%s: answers with unexpected rcodes: %s", r.spec.label,
			each(func(s sample) string { return fmt.Sprintf("%d of %v", s.badRcodes, s.rcodes) })))
	}
	if r.spec.rate == 0 && anySample(r, func(s sample) bool { return s.clientLoad > 0.9 }) {
		w = append(w, fmt.Sprintf("%s: dnsperf used %s of its core, so QPS may be dnsperf's limit rather than the server's",
			r.spec.label, each(func(s sample) string { return percent(s.clientLoad) })))
	}
	if !rt && anySample(r, func(s sample) bool { return s.otherLoad > 0.1 }) {
		hurt := "QPS understates"
		if r.spec.rate > 0 {
			hurt = "latency overstates"
		}
		w = append(w, fmt.Sprintf("%s: other processes ran on the server's core %s of the time, delaying the server's wake-ups, so %s it (-rt avoids this); CPU µs/query is the steadier figure",
			r.spec.label, each(func(s sample) string { return percent(s.otherLoad) }), hurt))
	}
	if r.spec.churn {
		w = append(w, fmt.Sprintf("%s: achieved %s of %d QPS offered; zone changes %s", r.spec.label,
			each(func(s sample) string { return fmt.Sprintf("%.0f", s.qps) }), r.spec.rate,
			each(func(s sample) string { return churnSummary(s.churn) })))
	}
	return w
}

func anySample(r row, f func(sample) bool) bool { return slices.ContainsFunc(r.samples, f) }

// churnSummary is one repetition's zone changes in a few words.
func churnSummary(c churnStats) string {
	s := fmt.Sprintf("%d (%d failed, slowest CLI %s, SOA serial +%d)", c.changes, c.failed, c.slowest.Round(time.Millisecond), c.serialDelta)
	if c.firstErr != "" {
		s += " first error: " + c.firstErr
	}
	return s
}

func schedName(rt bool) string {
	if rt {
		return "SCHED_FIFO (-rt)"
	}
	return "normal scheduling (no -rt)"
}

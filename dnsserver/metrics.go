package dnsserver

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

const (
	typeSlots  = 260 // RR types 0..259 (CAA is 257) counted by number
	otherType  = typeSlots
	rcodeSlots = 24 // rcodes 0..23 (BADVERS is 16); -1 is a dropped packet
)

// latencyBuckets are the upper bounds of the latency histogram.
var latencyBuckets = []time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 5 * time.Millisecond, 25 * time.Millisecond, 100 * time.Millisecond,
}

// Metrics counts queries with plain atomics, so recording one costs no lock
// and no allocation on the query path. WritePrometheus renders them.
type Metrics struct {
	queries    [typeSlots + 1][rcodeSlots]atomic.Uint64
	dropped    atomic.Uint64
	tcpRefused atomic.Uint64
	latency    [11]atomic.Uint64 // one per bucket, then +Inf
	latencySum atomic.Uint64     // nanoseconds
}

func (m *Metrics) observe(o outcome, d time.Duration) {
	if o.rcode < 0 {
		m.dropped.Add(1)
		return
	}
	t := int(o.qtype)
	if t >= typeSlots {
		t = otherType
	}
	m.queries[t][min(o.rcode, rcodeSlots-1)].Add(1)
	i := 0
	for i < len(latencyBuckets) && d > latencyBuckets[i] {
		i++
	}
	m.latency[i].Add(1)
	m.latencySum.Add(uint64(d))
}

// WritePrometheus writes the metrics in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) {
	fmt.Fprintln(w, "# HELP lbdns_dns_queries_total DNS queries answered, by query type and response code.")
	fmt.Fprintln(w, "# TYPE lbdns_dns_queries_total counter")
	for t := range m.queries {
		for rc := range m.queries[t] {
			if n := m.queries[t][rc].Load(); n > 0 {
				fmt.Fprintf(w, "lbdns_dns_queries_total{type=%q,rcode=%q} %d\n", typeName(t), rcodeName(rc), n)
			}
		}
	}
	fmt.Fprintln(w, "# HELP lbdns_dns_dropped_total Packets dropped unanswered (too short, or not a query).")
	fmt.Fprintln(w, "# TYPE lbdns_dns_dropped_total counter")
	fmt.Fprintf(w, "lbdns_dns_dropped_total %d\n", m.dropped.Load())
	fmt.Fprintln(w, "# HELP lbdns_dns_tcp_refused_total TCP connections closed at once because the connection cap was reached.")
	fmt.Fprintln(w, "# TYPE lbdns_dns_tcp_refused_total counter")
	fmt.Fprintf(w, "lbdns_dns_tcp_refused_total %d\n", m.tcpRefused.Load())
	fmt.Fprintln(w, "# HELP lbdns_dns_request_duration_seconds Time to answer a query.")
	fmt.Fprintln(w, "# TYPE lbdns_dns_request_duration_seconds histogram")
	var cum uint64
	for i, b := range latencyBuckets {
		cum += m.latency[i].Load()
		fmt.Fprintf(w, "lbdns_dns_request_duration_seconds_bucket{le=\"%g\"} %d\n", b.Seconds(), cum)
	}
	cum += m.latency[len(latencyBuckets)].Load()
	fmt.Fprintf(w, "lbdns_dns_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(w, "lbdns_dns_request_duration_seconds_sum %g\n", time.Duration(m.latencySum.Load()).Seconds())
	fmt.Fprintf(w, "lbdns_dns_request_duration_seconds_count %d\n", cum)
}

func typeName(t int) string {
	if t == otherType {
		return "OTHER"
	}
	if s, ok := dns.TypeToString[uint16(t)]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

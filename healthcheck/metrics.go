package healthcheck

import (
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"
)

var probeKinds = [...]string{"tcp", "http", "https", "dns", "exec"}

var probeBuckets = []time.Duration{
	100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond,
	25 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second,
}

// Metrics counts probes and transitions with atomics; gauges of current
// state are read from the checker when rendered.
type Metrics struct {
	probes       [len(probeKinds)][2]atomic.Uint64 // by kind, then failed/ok
	toUp, toDown atomic.Uint64
	latency      [10]atomic.Uint64 // one per bucket, then +Inf
	latencySum   atomic.Uint64     // nanoseconds
}

func (m *Metrics) probe(kind string, ok bool, d time.Duration) {
	for k, name := range probeKinds {
		if name == kind {
			m.probes[k][b2i(ok)].Add(1)
		}
	}
	i := 0
	for i < len(probeBuckets) && d > probeBuckets[i] {
		i++
	}
	m.latency[i].Add(1)
	m.latencySum.Add(uint64(d))
}

func (m *Metrics) transition(up bool) {
	if up {
		m.toUp.Add(1)
	} else {
		m.toDown.Add(1)
	}
}

// WritePrometheus writes health metrics in the Prometheus text format:
// target and site state gauges, probe and transition counters, and the
// probe latency histogram.
func (c *Checker) WritePrometheus(w io.Writer) {
	st := c.Status()
	fmt.Fprintln(w, "# HELP lbdns_health_target_up Whether a probed target is healthy (1) or not (0).")
	fmt.Fprintln(w, "# TYPE lbdns_health_target_up gauge")
	for _, svc := range st {
		for _, site := range svc.Sites {
			for _, s := range site.Servers {
				if s.Probed {
					fmt.Fprintf(w, "lbdns_health_target_up{service=%q,site=%q,server=%q} %d\n", svc.Service, site.Site, s.Server, b2i(s.Healthy))
				}
			}
		}
	}
	fmt.Fprintln(w, "# HELP lbdns_health_site_up Whether a site is up by health checks and admin state (1) or not (0).")
	fmt.Fprintln(w, "# TYPE lbdns_health_site_up gauge")
	for _, svc := range st {
		for _, site := range svc.Sites {
			fmt.Fprintf(w, "lbdns_health_site_up{service=%q,site=%q} %d\n", svc.Service, site.Site, b2i(site.Up))
		}
	}
	m := &c.Metrics
	fmt.Fprintln(w, "# HELP lbdns_health_probes_total Probes run, by kind and result.")
	fmt.Fprintln(w, "# TYPE lbdns_health_probes_total counter")
	for k, name := range probeKinds {
		for r, result := range []string{"fail", "ok"} {
			if n := m.probes[k][r].Load(); n > 0 {
				fmt.Fprintf(w, "lbdns_health_probes_total{kind=%q,result=%q} %d\n", name, result, n)
			}
		}
	}
	fmt.Fprintln(w, "# HELP lbdns_health_transitions_total Target state changes after rise/fall, by new state.")
	fmt.Fprintln(w, "# TYPE lbdns_health_transitions_total counter")
	fmt.Fprintf(w, "lbdns_health_transitions_total{to=\"up\"} %d\n", m.toUp.Load())
	fmt.Fprintf(w, "lbdns_health_transitions_total{to=\"down\"} %d\n", m.toDown.Load())
	fmt.Fprintln(w, "# HELP lbdns_health_probe_duration_seconds Probe latency.")
	fmt.Fprintln(w, "# TYPE lbdns_health_probe_duration_seconds histogram")
	var cum uint64
	for i, b := range probeBuckets {
		cum += m.latency[i].Load()
		fmt.Fprintf(w, "lbdns_health_probe_duration_seconds_bucket{le=\"%g\"} %d\n", b.Seconds(), cum)
	}
	cum += m.latency[len(probeBuckets)].Load()
	fmt.Fprintf(w, "lbdns_health_probe_duration_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(w, "lbdns_health_probe_duration_seconds_sum %g\n", time.Duration(m.latencySum.Load()).Seconds())
	fmt.Fprintf(w, "lbdns_health_probe_duration_seconds_count %d\n", cum)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ServiceStatus is one service's health, for `lbdns status`.
type ServiceStatus struct {
	Service string       `json:"service"`
	Sites   []SiteStatus `json:"sites"`
}

// SiteStatus is one site's health and admin state.
type SiteStatus struct {
	Site    string         `json:"site"`
	Up      bool           `json:"up"` // healthy and enabled
	Admin   string         `json:"admin"`
	Since   time.Time      `json:"since"`
	Reason  string         `json:"reason,omitempty"`
	Servers []ServerStatus `json:"servers"`
}

// ServerStatus is one probed target (a real server or a VIP check).
type ServerStatus struct {
	Server      string        `json:"server"`
	Probe       string        `json:"probe,omitempty"`
	Kind        string        `json:"kind,omitempty"`
	VIPCheck    bool          `json:"vip_check,omitempty"`
	Probed      bool          `json:"probed"`
	Healthy     bool          `json:"healthy"`
	Since       time.Time     `json:"since"`
	Probes      uint64        `json:"probes"`
	LastProbe   time.Time     `json:"last_probe"`
	LastLatency time.Duration `json:"last_latency_ns"`
	LastError   string        `json:"last_error,omitempty"`
	Weight      int           `json:"weight"` // effective IPVS weight
}

// Status reports every applied service's sites and targets, sorted.
func (c *Checker) Status() []ServiceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	bySvc := map[string][]SiteStatus{}
	for k, s := range c.sites {
		ss := SiteStatus{Site: k.site, Up: s.up && s.admin == "enabled", Admin: s.admin, Since: s.since, Reason: s.reason}
		if s.admin != "enabled" {
			ss.Reason = "site is " + s.admin
		}
		for _, rs := range s.servers {
			ss.Servers = append(ss.Servers, c.serverStatusLocked(rs.key, rs.addr, rs.weight, s.admin))
		}
		for _, key := range s.vipKeys {
			if r := c.runners[key]; r != nil {
				v := c.serverStatusLocked(key, r.t.Server, 0, s.admin)
				v.VIPCheck = true
				ss.Servers = append(ss.Servers, v)
			}
		}
		bySvc[k.service] = append(bySvc[k.service], ss)
	}
	out := make([]ServiceStatus, 0, len(bySvc))
	for name, sites := range bySvc {
		sort.Slice(sites, func(i, j int) bool { return sites[i].Site < sites[j].Site })
		out = append(out, ServiceStatus{Service: name, Sites: sites})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

func (c *Checker) serverStatusLocked(key string, addr interface{ String() string }, weight int, admin string) ServerStatus {
	s := ServerStatus{Server: addr.String(), Healthy: true, Weight: weight}
	if r := c.runners[key]; key != "" && r != nil {
		st := r.st
		s.Probed, s.Healthy, s.Since = true, st.up, st.since
		s.Probe, s.Kind = r.t.Probe.String(), r.t.Spec.Kind
		s.Probes, s.LastProbe, s.LastLatency, s.LastError = st.probes, st.lastProbe, st.lastLatency, st.lastErr
	}
	if !s.Healthy || admin != "enabled" {
		s.Weight = 0
	}
	return s
}

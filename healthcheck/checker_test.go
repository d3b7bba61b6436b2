package healthcheck

import (
	"bufio"
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// scripted is an HTTP handler whose status follows a script, one step per
// probe, and which records the target's state as each probe arrives. A
// target's probes are sequential and each result is recorded before the
// next probe starts, so seen[i] is the state after exactly i results.
type scripted struct {
	c      *Checker
	key    string
	script string // one letter per probe: P passes (200), F fails (503)

	mu   sync.Mutex
	seen []byte // U or D before each probe
	done chan struct{}
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st, _ := state(s.c, s.key)
	s.mu.Lock()
	n := len(s.seen)
	s.seen = append(s.seen, "DU"[b2i(st.up)])
	if n == len(s.script) {
		close(s.done)
	}
	s.mu.Unlock()
	if n < len(s.script) && s.script[n] == 'F' {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

// TestHysteresis drives one target through scripted pass/fail sequences
// with interval 50ms, rise 2 and fall 3, and checks its state after every
// probe.
func TestHysteresis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		initial string
		script  string
		want    string // state before the first probe, then after each
	}{
		{"down until 2 consecutive passes", "down", "PFPPP", "DDDDUU"},
		{"down only after 3 consecutive failures", "down", "PPFFPFFFP", "DDUUUUUUDD"},
		{"alternating never comes up", "down", "PFPFPFPFPFPF", "DDDDDDDDDDDDD"},
		{"alternating never goes down", "up", "FPFPFPFPFPFP", "UUUUUUUUUUUUU"},
		{"two failures in a row are not enough", "up", "FFPFFPFFP", "UUUUUUUUUU"},
		{"initial up starts up and falls after 3", "up", "FFFPP", "UUUDDU"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestChecker(t, 0)
			s := &scripted{c: c, script: tc.script, done: make(chan struct{})}
			_, at := httpServer(t, s)
			svc := oneServer("h.lb.example.com", at, &zones.Health{Kind: "http", Interval: "50ms", Timeout: "10s", Rise: 2, Fall: 3})
			svc.Initial = tc.initial
			s.key = key("h.lb.example.com.", "a", at)
			mustApply(t, c, stored(t, svc, nil))
			if st, _ := state(c, s.key); st.up != (tc.initial == "up") {
				t.Fatalf("state right after Apply: up=%v, want initial %s", st.up, tc.initial)
			}
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				t.Fatal("script did not finish")
			}
			c.Close()
			s.mu.Lock()
			defer s.mu.Unlock()
			if got := string(s.seen[:len(tc.want)]); got != tc.want {
				t.Errorf("script %s from %s: states %s, want %s", tc.script, tc.initial, got, tc.want)
			}
		})
	}
}

// TestHysteresisTCPListener: a real listener that is up, then closed.
func TestHysteresisTCPListener(t *testing.T) {
	t.Parallel()
	c := newTestChecker(t, 0)
	ln := startTCP(t, "127.0.0.1")
	mustApply(t, c, stored(t, oneServer("t.lb.example.com", ln.ap, fast("tcp", 2, 3)), nil))
	k := key("t.lb.example.com.", "a", ln.ap)

	// Up after exactly 2 passes: sample the state often and check every
	// sample is consistent.
	for {
		st, _ := state(c, k)
		if st.up != (st.probes >= 2) {
			t.Fatalf("listener up: after %d probes up=%v", st.probes, st.up)
		}
		if st.probes >= 3 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n := ln.accepts.Load(); n < 3 {
		t.Errorf("listener accepted %d connections after 3 probes", n)
	}
	if up, reason := c.SiteUp("t.lb.example.com.", "a"); !up {
		t.Errorf("site down with its server up: %s", reason)
	}

	ln.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := state(c, k)
		if st.up != (st.failures < 3) {
			t.Fatalf("listener closed: after %d consecutive failures up=%v", st.failures, st.up)
		}
		if !st.up {
			if !strings.Contains(st.lastErr, "connection refused") {
				t.Errorf("last error %q", st.lastErr)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("target never went down")
		}
		time.Sleep(2 * time.Millisecond)
	}
	up, reason := c.SiteUp("t.lb.example.com.", "a")
	if up || !strings.Contains(reason, ln.ap.String()) || !strings.Contains(reason, "connection refused") {
		t.Errorf("SiteUp = %v, %q; want down naming %s and its error", up, reason, ln.ap)
	}
}

// TestSiteHealth: min_healthy and the VIP check decide the site; the
// reason names a failing server and its last error; weights follow health.
func TestSiteHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		servers    []bool // listener up?
		minHealthy int
		vip        string // "", "up" or "down"
		initial    string
		wantUp     bool
		wantReason []string // substrings; the failing server is added
	}{
		{name: "all healthy", servers: []bool{true, true, true}, minHealthy: 2, wantUp: true},
		{name: "2 of 3 is enough", servers: []bool{true, false, true}, minHealthy: 2, wantUp: true},
		{name: "1 of 3 is not", servers: []bool{false, true, false}, minHealthy: 2,
			wantReason: []string{"1 of 3 real servers healthy, need 2", "connection refused"}},
		{name: "1 of 3 is not, never up", servers: []bool{false, true, false}, minHealthy: 2, initial: "down",
			wantReason: []string{"1 of 3 real servers healthy, need 2", "connection refused"}},
		{name: "none healthy", servers: []bool{false, false, false}, minHealthy: 1,
			wantReason: []string{"0 of 3 real servers healthy, need 1", "connection refused"}},
		{name: "none healthy, never up", servers: []bool{false, false, false}, minHealthy: 1, initial: "down",
			wantReason: []string{"0 of 3 real servers healthy, need 1", "connection refused"}},
		{name: "min_healthy 0 keeps the site up", servers: []bool{false, false, false}, minHealthy: 0, wantUp: true},
		{name: "VIP check passes", servers: []bool{true, true, true}, minHealthy: 2, vip: "up", wantUp: true},
		{name: "VIP check fails", servers: []bool{true, true, true}, minHealthy: 2, vip: "down",
			wantReason: []string{"VIP check 127.0.0.2 failed", "connection refused"}},
		{name: "VIP check fails, never up", servers: []bool{true, true, true}, minHealthy: 2, vip: "down", initial: "down",
			wantReason: []string{"VIP check 127.0.0.2 failed", "connection refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newTestChecker(t, 0)
			site := zones.Site{Name: "a", VIPs: []string{"127.0.0.2"}, MinHealthy: intp(tc.minHealthy)}
			var keys []string
			var firstDown netip.AddrPort
			var want []ServerWeight
			for i, up := range tc.servers {
				ln := startTCP(t, "127.0.0.1")
				if !up {
					ln.Close()
					if !firstDown.IsValid() {
						firstDown = ln.ap
					}
				}
				site.RealServers = append(site.RealServers, rs(ln.ap, 10+i))
				keys = append(keys, key("s.lb.example.com.", "a", ln.ap))
				w := 10 + i
				if !up {
					w = 0
				}
				want = append(want, ServerWeight{Server: ln.ap, Weight: w, Healthy: up, Settled: true}) // probed twice, rise and fall 1
			}
			if tc.vip != "" {
				vip := startTCP(t, "127.0.0.2")
				if tc.vip == "down" {
					vip.Close()
				}
				site.VIPCheck = &zones.Health{Port: int(vip.ap.Port())}
				keys = append(keys, Target{Service: "s.lb.example.com.", Site: "a", VIP: true, Server: netip.AddrPortFrom(vip.ap.Addr(), 0)}.Key())
			}
			initial := tc.initial
			if initial == "" {
				initial = "up"
			}
			svc := zones.Service{Name: "s.lb.example.com", Initial: initial, Health: fast("tcp", 1, 1), Sites: []zones.Site{site}}
			mustApply(t, c, stored(t, svc, nil))
			waitProbes(t, c, 2, keys...)

			up, reason := c.SiteUp("s.lb.example.com.", "a")
			if up != tc.wantUp {
				t.Errorf("SiteUp = %v (%q), want %v", up, reason, tc.wantUp)
			}
			if tc.wantUp && reason != "" {
				t.Errorf("an up site has reason %q", reason)
			}
			wantReason := tc.wantReason
			if !tc.wantUp && tc.vip != "down" {
				wantReason = append(wantReason, firstDown.String())
			}
			for _, w := range wantReason {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q lacks %q", reason, w)
				}
			}
			if got := c.Weights("s.lb.example.com.", "a"); !equalWeights(got, want) {
				t.Errorf("Weights = %+v, want %+v", got, want)
			}
		})
	}
}

func equalWeights(a, b []ServerWeight) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWeightsAdmin: drained and disabled sites weigh 0; sites without
// probes keep their configured weights.
func TestWeightsAdmin(t *testing.T) {
	t.Parallel()
	ln := startTCP(t, "127.0.0.1")
	mkSite := func(name string) zones.Site {
		return zones.Site{Name: name, VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rs(ln.ap, 5)}}
	}
	probed := zones.Service{
		Name: "w.lb.example.com", Initial: "down", Health: fast("tcp", 1, 1),
		Sites: []zones.Site{mkSite("enabled"), mkSite("drained"), mkSite("disabled")},
	}
	unprobed := zones.Service{Name: "n.lb.example.com", Sites: []zones.Site{mkSite("enabled"), mkSite("drained")}}
	c := newTestChecker(t, 0)
	mustApply(t, c,
		stored(t, probed, map[string]string{"drained": zones.SiteDrained, "disabled": zones.SiteDisabled}),
		stored(t, unprobed, map[string]string{"drained": zones.SiteDrained}))
	if r := runnerFor(c, key("w.lb.example.com.", "disabled", ln.ap)); r != nil {
		t.Errorf("a disabled site is probed")
	}
	waitProbes(t, c, 1, key("w.lb.example.com.", "enabled", ln.ap), key("w.lb.example.com.", "drained", ln.ap))

	tests := []struct {
		svc, site string
		want      ServerWeight
		siteUp    bool // SiteUp: health only
		statusUp  bool // Status: health and admin
	}{
		{"w.lb.example.com.", "enabled", ServerWeight{ln.ap, 5, true, true}, true, true},
		{"w.lb.example.com.", "drained", ServerWeight{ln.ap, 0, true, true}, true, false},
		{"w.lb.example.com.", "disabled", ServerWeight{ln.ap, 0, true, true}, true, false},
		{"n.lb.example.com.", "enabled", ServerWeight{ln.ap, 5, true, true}, true, true},
		{"n.lb.example.com.", "drained", ServerWeight{ln.ap, 0, true, true}, true, false},
	}
	status := map[string]SiteStatus{}
	for _, svc := range c.Status() {
		for _, s := range svc.Sites {
			status[svc.Service+"/"+s.Site] = s
		}
	}
	for _, tc := range tests {
		got := c.Weights(tc.svc, tc.site)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("Weights(%s, %s) = %+v, want [%+v]", tc.svc, tc.site, got, tc.want)
		}
		if up, reason := c.SiteUp(tc.svc, tc.site); up != tc.siteUp {
			t.Errorf("SiteUp(%s, %s) = %v (%s), want %v", tc.svc, tc.site, up, reason, tc.siteUp)
		}
		st := status[tc.svc+"/"+tc.site]
		if st.Up != tc.statusUp {
			t.Errorf("Status %s/%s up=%v, want %v", tc.svc, tc.site, st.Up, tc.statusUp)
		}
		if !tc.statusUp && st.Reason != "site is "+st.Admin {
			t.Errorf("Status %s/%s reason %q", tc.svc, tc.site, st.Reason)
		}
		if len(st.Servers) != 1 || st.Servers[0].Weight != tc.want.Weight {
			t.Errorf("Status %s/%s servers %+v, want weight %d", tc.svc, tc.site, st.Servers, tc.want.Weight)
		}
	}
	if up, _ := c.SiteUp("nope.lb.example.com.", "a"); !up {
		t.Errorf("an unknown site should be up (no checks)")
	}
	if w := c.Weights("nope.lb.example.com.", "a"); w != nil {
		t.Errorf("Weights of an unknown site = %v", w)
	}
}

// TestApplyKeepsState: re-applying the same services neither resets nor
// restarts a target; a weight change is taken without a restart; a change
// of spec, probe address or initial state restarts it.
func TestApplyKeepsState(t *testing.T) {
	t.Parallel()
	ln := startTCP(t, "127.0.0.1")
	mk := func(f func(*zones.Service)) zones.StoredService {
		svc := oneServer("k.lb.example.com", ln.ap, &zones.Health{Interval: "20ms", Timeout: "5s", Rise: 1})
		if f != nil {
			f(&svc)
		}
		return stored(t, svc, nil)
	}
	k := key("k.lb.example.com.", "a", ln.ap)
	c := newTestChecker(t, 0)
	mustApply(t, c, mk(nil))
	waitProbes(t, c, 3, k)
	r1 := runnerFor(c, k)
	st1, _ := state(c, k)
	if !st1.up {
		t.Fatalf("target not up after %d probes", st1.probes)
	}

	// Re-apply the same services many times while probes run (the race
	// detector watches the runner's target).
	for range 50 {
		mustApply(t, c, mk(nil))
		time.Sleep(time.Millisecond)
	}
	waitProbes(t, c, st1.probes+3, k)
	if r := runnerFor(c, k); r != r1 {
		t.Fatalf("re-applying the same service restarted the target")
	}
	if st, _ := state(c, k); !st.up || !st.since.Equal(st1.since) {
		t.Errorf("re-apply reset the state: up=%v since %v, was since %v", st.up, st.since, st1.since)
	}

	mustApply(t, c, mk(func(s *zones.Service) { s.Sites[0].RealServers[0].Weight = intp(9) }))
	if r := runnerFor(c, k); r != r1 {
		t.Errorf("a weight change restarted the target")
	}
	if w := c.Weights("k.lb.example.com.", "a"); len(w) != 1 || w[0].Weight != 9 {
		t.Errorf("Weights after a weight change = %+v, want 9", w)
	}

	restarts := []struct {
		name string
		f    func(*zones.Service)
	}{
		{"timeout", func(s *zones.Service) { s.Health.Timeout = "4s" }},
		{"kind", func(s *zones.Service) { s.Health.Kind = "http"; s.Health.Expect = []int{404} }},
		{"probe address", func(s *zones.Service) { s.Health.ProbeAddress = "127.0.0.3" }},
		{"initial", func(s *zones.Service) { s.Initial = "up" }},
	}
	prev := r1
	for _, tc := range restarts {
		mustApply(t, c, mk(tc.f))
		r := runnerFor(c, k)
		if r == prev {
			t.Errorf("changing the %s did not restart the target", tc.name)
			continue
		}
		select {
		case <-prev.done:
		default:
			t.Errorf("changing the %s: Apply returned before the old probe loop ended", tc.name)
		}
		prev = r
	}
}

// TestApplyRemoveStops: removing a service stops its probes before Apply
// returns; the other service's probes go on; Apply(nil) leaves no
// goroutine behind.
func TestApplyRemoveStops(t *testing.T) {
	// Not parallel: counts goroutines.
	var lns []*tcpServer
	for range 4 {
		lns = append(lns, startTCP(t, "127.0.0.1"))
	}
	before := settledGoroutines()
	c := New(slog.New(slog.DiscardHandler), 0)
	mk := func(name string, lns ...*tcpServer) zones.StoredService {
		site := zones.Site{Name: "a", VIPs: []string{"192.0.2.1"}}
		for _, ln := range lns {
			site.RealServers = append(site.RealServers, rs(ln.ap, 1))
		}
		return stored(t, zones.Service{Name: name, Health: &zones.Health{Interval: "20ms"}, Sites: []zones.Site{site}}, nil)
	}
	one, two := mk("one.lb.example.com", lns[:2]...), mk("two.lb.example.com", lns[2:]...)
	mustApply(t, c, one, two)
	for _, ln := range lns {
		waitFor(t, 5*time.Second, func() bool { return ln.accepts.Load() >= 3 }, "listener %s not probed", ln.ap)
	}
	if n := runtime.NumGoroutine() - before; n < 4 {
		t.Errorf("%d goroutines for 4 targets", n)
	}

	oneRunners := []*runner{runnerFor(c, key("one.lb.example.com.", "a", lns[0].ap)), runnerFor(c, key("one.lb.example.com.", "a", lns[1].ap))}
	mustApply(t, c, two)
	for _, r := range oneRunners {
		select {
		case <-r.done:
		default:
			t.Errorf("Apply returned while a removed target's loop still runs")
		}
	}
	time.Sleep(50 * time.Millisecond) // connections made before Apply returned may still be in accept queues
	stopped := []int64{lns[0].accepts.Load(), lns[1].accepts.Load()}
	running := []int64{lns[2].accepts.Load(), lns[3].accepts.Load()}
	time.Sleep(200 * time.Millisecond)
	for i := range 2 {
		if n := lns[i].accepts.Load(); n != stopped[i] {
			t.Errorf("removed target %s probed %d more times", lns[i].ap, n-stopped[i])
		}
		if n := lns[2+i].accepts.Load(); n < running[i]+3 {
			t.Errorf("kept target %s probed %d times in 200ms at 20ms", lns[2+i].ap, n-running[i])
		}
	}
	if len(c.Status()) != 1 {
		t.Errorf("Status lists %d services, want 1", len(c.Status()))
	}

	c.Close()
	after := runningAfter(before)
	if after > before {
		t.Errorf("%d goroutines before the checker, %d after Close", before, after)
	}
	if len(c.Status()) != 0 {
		t.Errorf("Status after Close = %+v", c.Status())
	}
}

// settledGoroutines waits until the goroutine count has been steady for
// 100ms (earlier tests' servers wind down) and returns it.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for i := 0; i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			break
		}
		n = m
	}
	return n
}

// runningAfter waits briefly for goroutines to settle to at most want and
// returns the count.
func runningAfter(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 200 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestCloseWaits: Close cancels probes in flight (a hung HTTP server, a
// sleeping command) and returns once every loop has ended.
func TestCloseWaits(t *testing.T) {
	// Not parallel: counts goroutines.
	release := make(chan struct{})
	var hits atomic.Int32
	_, at := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	before := settledGoroutines()
	c := New(slog.New(slog.DiscardHandler), 0)
	hung := oneServer("hung.lb.example.com", at, &zones.Health{Kind: "http", Interval: "20ms", Timeout: "10s"})
	sleepy := oneServer("exec.lb.example.com", at, &zones.Health{Kind: "exec", Interval: "20ms", Timeout: "10s",
		Command: []string{"/bin/sh", "-c", "sleep 10"}})
	mustApply(t, c, stored(t, hung, nil), stored(t, sleepy, nil))
	waitFor(t, 5*time.Second, func() bool { return hits.Load() > 0 }, "the hung server was never probed")
	time.Sleep(100 * time.Millisecond) // let the command start too
	runners := []*runner{runnerFor(c, key("hung.lb.example.com.", "a", at)), runnerFor(c, key("exec.lb.example.com.", "a", at))}

	start := time.Now()
	c.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %s with probes in flight (timeouts 10s)", took)
	}
	for _, r := range runners {
		select {
		case <-r.done:
		default:
			t.Errorf("Close returned before a probe loop ended")
		}
		if r.st.probes != 0 {
			t.Errorf("a cancelled probe was recorded: %+v", r.st)
		}
	}
	if after := runningAfter(before); after > before {
		t.Errorf("%d goroutines before the checker, %d after Close", before, after)
	}
}

// TestChanges: the channel is signalled on transitions, and not while the
// state is steady.
func TestChanges(t *testing.T) {
	t.Parallel()
	ln := startTCP(t, "127.0.0.1")
	c := newTestChecker(t, 0)
	mustApply(t, c, stored(t, oneServer("c.lb.example.com", ln.ap, fast("tcp", 1, 1)), nil))
	k := key("c.lb.example.com.", "a", ln.ap)
	select {
	case <-c.Changes():
	default:
		t.Errorf("Apply did not signal")
	}
	expectSignal := func(what string) {
		t.Helper()
		select {
		case <-c.Changes():
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	expectSignal("the target came up")
	if st, _ := state(c, k); !st.up {
		t.Errorf("signalled but the target is down")
	}
	if up, _ := c.SiteUp("c.lb.example.com.", "a"); !up {
		t.Errorf("signalled but the site is down")
	}
	n, _ := state(c, k)
	waitProbes(t, c, n.probes+4, k)
	select {
	case <-c.Changes():
		t.Errorf("signalled while the target stayed up")
	default:
	}
	ln.Close()
	expectSignal("the target went down")
	if up, _ := c.SiteUp("c.lb.example.com.", "a"); up {
		t.Errorf("signalled but the site is still up")
	}
}

// TestHungTarget: with two probes allowed at once, a server that accepts
// and never answers costs its own timeout and does not hold up the others:
// while a hung probe is in flight, the other targets keep being probed.
func TestHungTarget(t *testing.T) {
	t.Parallel()
	c := newTestChecker(t, 2)
	site := zones.Site{Name: "a", VIPs: []string{"192.0.2.1"}, MinHealthy: intp(0)}
	var keys []string
	for range 4 {
		ln := startTCP(t, "127.0.0.1")
		site.RealServers = append(site.RealServers, rs(ln.ap, 1))
		keys = append(keys, key("hung.lb.example.com.", "a", ln.ap))
	}
	probes := func() []uint64 {
		var out []uint64
		for _, k := range keys {
			st, _ := state(c, k)
			out = append(out, st.probes)
		}
		return out
	}
	// The handler notes the others' probe counts when a hung probe arrives
	// and again when the checker gives up on it.
	type window struct{ start, end []uint64 }
	windows := make(chan window, 16)
	release := make(chan struct{})
	_, hungAt := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := probes()
		select {
		case <-release:
			return
		case <-r.Context().Done():
		}
		windows <- window{start, probes()}
	}))
	defer close(release)
	site.RealServers = append(site.RealServers, zones.RealServer{
		Address: hungAt.Addr().String(), Port: int(hungAt.Port()),
		Health: &zones.Health{Kind: "http", Timeout: "1s"},
	})
	svc := zones.Service{Name: "hung.lb.example.com", Initial: "up", Health: fast("tcp", 1, 1), Sites: []zones.Site{site}}
	mustApply(t, c, stored(t, svc, nil))

	for i := range 2 {
		var w window
		select {
		case w = <-windows:
		case <-time.After(10 * time.Second):
			t.Fatal("the hung server saw no probe")
		}
		for j := range keys {
			// At 50ms intervals a 1s window allows ~20 probes; a target
			// queued behind the hung probe would get none.
			if n := w.end[j] - w.start[j]; n < 3 {
				t.Errorf("hung probe %d: target %d probed %d times while it hung for 1s", i, j, n)
			}
		}
	}
	hungKey := key("hung.lb.example.com.", "a", hungAt)
	waitProbes(t, c, 2, hungKey)
	hung, _ := state(c, hungKey)
	if !strings.Contains(hung.lastErr, "deadline exceeded") {
		t.Errorf("hung target's last error %q", hung.lastErr)
	}
	if hung.lastLatency < time.Second || hung.lastLatency > 3*time.Second {
		t.Errorf("hung probe took %s, want about its 1s timeout", hung.lastLatency)
	}
	for _, k := range keys {
		if st, _ := state(c, k); !st.up {
			t.Errorf("target %s down beside a hung target: %s", k, st.lastErr)
		}
	}
}

var gaugeLine = regexp.MustCompile(`^(lbdns_health_(?:target|site)_up)\{([^}]*)\} ([01])$`)

// TestStatusMatchesPrometheus: the gauges say what Status says.
func TestStatusMatchesPrometheus(t *testing.T) {
	t.Parallel()
	up1, up2, vip := startTCP(t, "127.0.0.1"), startTCP(t, "127.0.0.1"), startTCP(t, "127.0.0.2")
	down := closedPort(t)
	probed := zones.Service{
		Name: "p.lb.example.com", Health: fast("tcp", 1, 1),
		Sites: []zones.Site{
			{
				Name: "a", VIPs: []string{"127.0.0.2"}, MinHealthy: intp(2),
				VIPCheck:    &zones.Health{Port: int(vip.ap.Port())},
				RealServers: []zones.RealServer{rs(up1.ap, 3), rs(up2.ap, 2), rs(down, 1)},
			},
			{Name: "b", VIPs: []string{"192.0.2.2"}, RealServers: []zones.RealServer{rs(up1.ap, 1)}},
			{Name: "c", VIPs: []string{"192.0.2.3"}, RealServers: []zones.RealServer{rs(down, 1)}},
		},
	}
	unprobed := zones.Service{Name: "u.lb.example.com", Sites: []zones.Site{{Name: "a", VIPs: []string{"192.0.2.4"}}}}
	c := newTestChecker(t, 0)
	mustApply(t, c, stored(t, probed, map[string]string{"b": zones.SiteDrained}), stored(t, unprobed, nil))
	var keys []string
	for _, ap := range []netip.AddrPort{up1.ap, up2.ap, down} {
		keys = append(keys, key("p.lb.example.com.", "a", ap))
	}
	waitProbes(t, c, 2, append(keys, key("p.lb.example.com.", "b", up1.ap), key("p.lb.example.com.", "c", down))...)

	st := c.Status()
	var buf bytes.Buffer
	c.WritePrometheus(&buf)

	wantGauges := map[string]int{}
	for _, svc := range st {
		for _, site := range svc.Sites {
			wantGauges[`lbdns_health_site_up{service="`+svc.Service+`",site="`+site.Site+`"}`] = b2i(site.Up)
			for _, s := range site.Servers {
				if s.Probed {
					wantGauges[`lbdns_health_target_up{service="`+svc.Service+`",site="`+site.Site+`",server="`+s.Server+`"}`] = b2i(s.Healthy)
				}
			}
		}
	}
	gotGauges := map[string]int{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !regexp.MustCompile(`^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$`).MatchString(line) {
			t.Errorf("malformed metric line %q", line)
		}
		if m := gaugeLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.Atoi(m[3])
			gotGauges[m[1]+"{"+m[2]+"}"] = v
		}
	}
	if len(gotGauges) != len(wantGauges) {
		t.Errorf("%d gauges, Status has %d:\n%s", len(gotGauges), len(wantGauges), buf.String())
	}
	for k, v := range wantGauges {
		if g, ok := gotGauges[k]; !ok || g != v {
			t.Errorf("%s = %d (present %v), Status says %d", k, g, ok, v)
		}
	}

	// And the states are the expected ones.
	expect := map[string]int{
		`lbdns_health_site_up{service="p.lb.example.com.",site="a"}`:                                    1, // 2 of 3 and the VIP
		`lbdns_health_site_up{service="p.lb.example.com.",site="b"}`:                                    0, // drained
		`lbdns_health_site_up{service="p.lb.example.com.",site="c"}`:                                    0, // its one server is down
		`lbdns_health_site_up{service="u.lb.example.com.",site="a"}`:                                    1, // not probed
		`lbdns_health_target_up{service="p.lb.example.com.",site="a",server="` + down.String() + `"}`:   0,
		`lbdns_health_target_up{service="p.lb.example.com.",site="a",server="` + up1.ap.String() + `"}`: 1,
		`lbdns_health_target_up{service="p.lb.example.com.",site="a",server="127.0.0.2:0"}`:             1,
	}
	for k, v := range expect {
		if g, ok := gotGauges[k]; !ok || g != v {
			t.Errorf("%s = %d (present %v), want %d", k, g, ok, v)
		}
	}

	// Counters agree with each other once probing has stopped.
	c.Close()
	buf.Reset()
	c.WritePrometheus(&buf)
	var probes, count uint64
	for _, line := range strings.Split(buf.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, _ := strconv.ParseUint(f[1], 10, 64)
		switch {
		case strings.HasPrefix(f[0], "lbdns_health_probes_total{"):
			probes += n
		case f[0] == "lbdns_health_probe_duration_seconds_count":
			count = n
		}
	}
	if probes == 0 || probes != count {
		t.Errorf("probes_total sums to %d, histogram count %d", probes, count)
	}
	if !strings.Contains(buf.String(), `lbdns_health_probes_total{kind="tcp",result="fail"}`) {
		t.Errorf("no failed tcp probes counted:\n%s", buf.String())
	}
}

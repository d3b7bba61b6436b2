package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/healthcheck"
)

// End-to-end health checking: the built binary probes real targets that
// the test starts and stops on loopback, and the operator watches the
// result with dig, `lbdns status` and /metrics.

// Probe timing of the short-interval tests. The timeout is longer than
// the interval: on a busy 2-core machine a healthy target's probe (a TLS
// handshake in this race-instrumented test binary, a UDP round trip) can
// take over 100ms, and two such in a row would be a real transition that
// no test here expects. Stopped targets are refused at once, so the
// timeout plays no part in the timings checked.
const (
	hcInterval = 100 * time.Millisecond
	hcTimeout  = time.Second
	hcRise     = 2
	hcFall     = 2
	// hcMargin is the slack on top of rise/fall × interval before a
	// transition must show in dig: generous, for a loaded 2-core machine.
	// Deadlines apply to when a check is sent, not when its (possibly
	// slow) dig or CLI run returns.
	hcMargin = 2 * time.Second
	// hcSettle bounds waits for a starting state, which no test times.
	hcSettle = 15 * time.Second
)

// hcShort is the health block of the short-interval tests: interval
// 100ms, rise 2, fall 2.
func hcShort(kindAndMore string) string {
	return fmt.Sprintf("%s, interval: %v, timeout: %v, rise: %d, fall: %d", kindAndMore, hcInterval, hcTimeout, hcRise, hcFall)
}

// ---- targets ----

// hcTarget is a real server on loopback that the test stops and starts
// on the same address: a TCP listener, an HTTP(S) server or a DNS server.
type hcTarget struct {
	t       *testing.T
	kind    string // tcp, http, https, dns
	addr    string // host:port; the port is kept across restarts
	handler http.Handler
	hits    atomic.Int64 // connections (tcp), requests (http, https), queries (dns)

	mu      sync.Mutex
	paths   map[string]int // requests by path (http, https)
	closeFn func()         // nil while stopped
}

// hcHosts returns two loopback addresses for the targets of two sites:
// 127.0.0.2 and 127.0.0.3 where they can be bound (so that a restarted
// target's port cannot have been taken by an outgoing connection from
// 127.0.0.1), else 127.0.0.1 twice.
var hcHosts = sync.OnceValue(func() [2]string {
	for _, h := range []string{"127.0.0.2", "127.0.0.3"} {
		l, err := net.Listen("tcp", h+":0")
		if err != nil {
			return [2]string{"127.0.0.1", "127.0.0.1"}
		}
		l.Close()
	}
	return [2]string{"127.0.0.2", "127.0.0.3"}
})

// newProbeTarget starts a target of kind on host; h serves HTTP(S) (nil:
// 200 OK). Cleanup stops it.
func hcNewTarget(t *testing.T, kind, host string, h http.Handler) *hcTarget {
	t.Helper()
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	}
	tg := &hcTarget{t: t, kind: kind, addr: net.JoinHostPort(host, "0"), handler: h, paths: map[string]int{}}
	tg.start()
	t.Cleanup(tg.stop)
	return tg
}

func (tg *hcTarget) host() string { h, _, _ := net.SplitHostPort(tg.addr); return h }

func (tg *hcTarget) port() int {
	_, p, _ := net.SplitHostPort(tg.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (tg *hcTarget) pathHits(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.paths[path]
}

// listenRetry retries briefly: a restarted target wants its old port back.
func hcListenRetry[L any](t *testing.T, what string, listen func() (L, error)) L {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		l, err := listen()
		if err == nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// start (re)starts the target on its address; the first start picks a port.
func (tg *hcTarget) start() {
	tg.t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.closeFn != nil {
		return
	}
	switch tg.kind {
	case "dns":
		pc := hcListenRetry(tg.t, "udp "+tg.addr, func() (net.PacketConn, error) { return net.ListenPacket("udp", tg.addr) })
		tg.addr = pc.LocalAddr().String()
		started := make(chan struct{})
		srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
			Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
				tg.hits.Add(1)
				m := new(dns.Msg)
				m.SetReply(r)
				m.Authoritative = true
				if len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeA {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
						A:   net.IPv4(192, 0, 2, 53),
					})
				}
				w.WriteMsg(m)
			})}
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.ActivateAndServe()
		}()
		<-started
		tg.closeFn = func() {
			srv.Shutdown()
			<-served
		}
	case "http", "https":
		ln := hcListenRetry(tg.t, "tcp "+tg.addr, func() (net.Listener, error) { return net.Listen("tcp", tg.addr) })
		tg.addr = ln.Addr().String()
		if tg.kind == "https" {
			cert, err := hcSelfSignedCert()
			if err != nil {
				tg.t.Fatal(err)
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
		}
		srv := &http.Server{
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tg.hits.Add(1)
				tg.mu.Lock()
				tg.paths[r.URL.Path]++
				tg.mu.Unlock()
				tg.handler.ServeHTTP(w, r)
			}),
		}
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.Serve(ln)
		}()
		tg.closeFn = func() {
			srv.Close()
			<-served
		}
	default: // tcp: accept and close
		ln := hcListenRetry(tg.t, "tcp "+tg.addr, func() (net.Listener, error) { return net.Listen("tcp", tg.addr) })
		tg.addr = ln.Addr().String()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				tg.hits.Add(1)
				c.Close()
			}
		}()
		tg.closeFn = func() {
			ln.Close()
			<-done
		}
	}
}

// stop closes the target: new connections are refused (for DNS, the port
// is closed and queries get ICMP port unreachable).
func (tg *hcTarget) stop() {
	tg.mu.Lock()
	f := tg.closeFn
	tg.closeFn = nil
	tg.mu.Unlock()
	if f != nil {
		f()
	}
}

// hcSelfSignedCert is an ECDSA certificate for the loopback addresses,
// signed by itself, made once per test binary.
var hcSelfSignedCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lbdns health e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})

// deadPort returns an address on host where nothing listens.
func hcDeadPort(t *testing.T, host string) (string, int) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return host, port
}

// ---- service files ----

type hcServer struct {
	host   string
	port   int
	weight int // 0: left out
}

func hcServerOf(tg *hcTarget) hcServer { return hcServer{host: tg.host(), port: tg.port()} }

type hcSite struct {
	name    string
	vip     string
	servers []hcServer
}

type hcService struct {
	name     string
	policy   string
	fallback string
	initial  string
	ttl      int
	sorry    []string
	health   string // the body of a YAML flow mapping
	sites    []hcSite
}

func (s hcService) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n", s.name)
	for _, kv := range [][2]string{{"policy", s.policy}, {"fallback", s.fallback}, {"initial", s.initial}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "    %s: %s\n", kv[0], kv[1])
		}
	}
	if s.ttl != 0 {
		fmt.Fprintf(&b, "    ttl: %d\n", s.ttl)
	}
	if len(s.sorry) > 0 {
		fmt.Fprintf(&b, "    sorry: [%s]\n", strings.Join(s.sorry, ", "))
	}
	if s.health != "" {
		fmt.Fprintf(&b, "    health: {%s}\n", s.health)
	}
	b.WriteString("    sites:\n")
	for _, site := range s.sites {
		fmt.Fprintf(&b, "      - name: %s\n        vips: [%s]\n        real_servers:\n", site.name, site.vip)
		for _, rs := range site.servers {
			fmt.Fprintf(&b, "          - {address: %s, port: %d", rs.host, rs.port)
			if rs.weight != 0 {
				fmt.Fprintf(&b, ", weight: %d", rs.weight)
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// applyServices writes the services to a file and runs `service apply -f`.
func hcApply(t *testing.T, db string, svcs ...hcService) result {
	t.Helper()
	text := "services:\n"
	for _, s := range svcs {
		text += s.yaml()
	}
	file := writeFile(t, "services.yaml", text)
	r := mustRun(t, db, "service", "apply", "-f", file)
	for _, s := range svcs {
		if !strings.Contains(r.stdout, "applied "+s.name+".") {
			t.Fatalf("service apply printed %q, want a line for %s; file:\n%s", r.stdout, s.name, text)
		}
	}
	return r
}

// ---- observing ----

// lbAnswers digs name A and returns the sorted A answers.
func hcAnswers(t *testing.T, p *proc, name string) (digResult, []string) {
	t.Helper()
	d := p.dig(t, name, "A")
	if d.status != "NOERROR" {
		t.Fatalf("want NOERROR for a load-balanced name; %v", d)
	}
	a := d.answers("A")
	slices.Sort(a)
	return d, a
}

// hcAwaitDig digs name every few milliseconds until ok holds for the
// answers. It fails the test if a dig sent more than by after since still
// saw the old state, and flags it if a dig that had already returned
// before notBefore (when the probes could not yet have decided) saw the
// new one. It returns how long it took.
func hcAwaitDig(t *testing.T, p *proc, name string, since time.Time, notBefore, by time.Duration, what string, ok func([]string) bool) time.Duration {
	t.Helper()
	digs := 0
	for {
		sent := time.Since(since)
		d, a := hcAnswers(t, p, name)
		elapsed := time.Since(since)
		digs++
		if ok(a) {
			if elapsed < notBefore {
				t.Errorf("%s after only %v (dig #%d), before %v: sooner than the probes allow; %v",
					what, elapsed.Round(time.Millisecond), digs, notBefore, d)
			}
			t.Logf("%s: dig saw it after %v (%d digs)", what, elapsed.Round(time.Millisecond), digs)
			return elapsed
		}
		if sent > by {
			t.Fatalf("%s: not within %v (%d digs, the last sent after %v); last %v\nserver log:\n%s",
				what, by, digs, sent.Round(time.Millisecond), d, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hcEventually polls check until it holds, failing the test if a check
// started more than by after since still did not.
func hcEventually(t *testing.T, since time.Time, by time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	for {
		sent := time.Since(since)
		ok, last := check()
		if ok {
			t.Logf("%s after %v", what, time.Since(since).Round(time.Millisecond))
			return
		}
		if sent > by {
			t.Fatalf("%s: not within %v (the last check started after %v); last seen:\n%s", what, by, sent.Round(time.Millisecond), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthStatus is `lbdns status SERVICE --json` for one service.
func hcStatus(t *testing.T, db, svc string) healthcheck.ServiceStatus {
	t.Helper()
	var st []healthcheck.ServiceStatus
	r := mustRun(t, db, "status", svc, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if len(st) != 1 || st[0].Service != svc+"." {
		t.Fatalf("status %s --json lists %d services, want just %s.:\n%s", svc, len(st), svc, r.stdout)
	}
	return st[0]
}

// allStatus is `lbdns status --json`.
func hcAllStatus(t *testing.T, db string) []healthcheck.ServiceStatus {
	t.Helper()
	var st []healthcheck.ServiceStatus
	r := mustRun(t, db, "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return st
}

func hcSiteStatus(t *testing.T, st healthcheck.ServiceStatus, site string) healthcheck.SiteStatus {
	t.Helper()
	for _, s := range st.Sites {
		if s.Site == site {
			return s
		}
	}
	t.Fatalf("status of %s has no site %s: %+v", st.Service, site, st)
	return healthcheck.SiteStatus{}
}

// oneServer is the only server (real server) of a site in a status.
func hcOneServer(t *testing.T, s healthcheck.SiteStatus) healthcheck.ServerStatus {
	t.Helper()
	if len(s.Servers) != 1 {
		t.Fatalf("site %s has %d servers in status, want 1: %+v", s.Site, len(s.Servers), s)
	}
	return s.Servers[0]
}

func hcMetrics(t *testing.T, p *proc) string {
	t.Helper()
	code, _, body := httpGet(t, "http://"+p.admin+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	return body
}

// mustMetric is a sample that must be present.
func hcMustMetric(t *testing.T, text, key string) float64 {
	t.Helper()
	v, ok := metric(text, key)
	if !ok {
		t.Fatalf("/metrics lacks %s:\n%s", key, hcGrepHealth(text))
	}
	return v
}

func hcGrepHealth(text string) string {
	var out []string
	for l := range strings.Lines(text) {
		if strings.HasPrefix(l, "lbdns_health_") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

func hcSiteUpKey(svc, site string) string {
	return fmt.Sprintf(`lbdns_health_site_up{service=%q,site=%q}`, svc+".", site)
}

func hcTargetUpKey(svc, site, server string) string {
	return fmt.Sprintf(`lbdns_health_target_up{service=%q,site=%q,server=%q}`, svc+".", site, server)
}

func hcTransitions(t *testing.T, p *proc) (up, down float64) {
	t.Helper()
	m := hcMetrics(t, p)
	return hcMustMetric(t, m, `lbdns_health_transitions_total{to="up"}`), hcMustMetric(t, m, `lbdns_health_transitions_total{to="down"}`)
}

// agree checks that dig, `lbdns status --json` and /metrics all say what
// want says of each site of svc (up: answered, up, gauge 1), and that the
// status and the gauges agree on every probed server. dig is read first:
// health changes reach status before the DNS snapshot, so once dig shows
// a state the other two must too.
func hcAgree(t *testing.T, p *proc, db, svc string, vips map[string]string, want map[string]bool) healthcheck.ServiceStatus {
	t.Helper()
	d, answers := hcAnswers(t, p, svc)
	st := hcStatus(t, db, svc)
	m := hcMetrics(t, p)
	for site, up := range want {
		if got := slices.Contains(answers, vips[site]); got != up {
			t.Errorf("dig: site %s VIP %s answered = %v, want %v; %v", site, vips[site], got, up, d)
		}
		ss := hcSiteStatus(t, st, site)
		if ss.Up != up {
			t.Errorf("status --json: site %s up = %v, want %v (as dig says): %+v", site, ss.Up, up, ss)
		}
		if g := hcMustMetric(t, m, hcSiteUpKey(svc, site)); g != float64(hcB2I(up)) {
			t.Errorf("/metrics: %s = %v, want %d (as dig says)", hcSiteUpKey(svc, site), g, hcB2I(up))
		}
		for _, s := range ss.Servers {
			if !s.Probed {
				continue
			}
			if g := hcMustMetric(t, m, hcTargetUpKey(svc, site, s.Server)); g != float64(hcB2I(s.Healthy)) {
				t.Errorf("/metrics: %s = %v, but status says healthy = %v", hcTargetUpKey(svc, site, s.Server), g, s.Healthy)
			}
		}
	}
	return st
}

func hcB2I(b bool) int {
	if b {
		return 1
	}
	return 0
}

// statusRows finds the text status rows of a site and of one of its
// servers; see writeStatus for the columns.
func hcStatusRows(t *testing.T, text, svc, site, server string) (siteRow, serverRow []string) {
	t.Helper()
	// SERVICE SITE - STATE SINCE [ERROR]
	sr := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(svc+".") + `\s+` + regexp.QuoteMeta(site) + `\s+-\s+(\S+)\s+(-|\d+s ago)\s*(.*)$`)
	// SERVER STATE SINCE WEIGHT LAST-PROBE [ERROR]; the server rows of a
	// site follow its row.
	vr := regexp.MustCompile(`^\s+` + regexp.QuoteMeta(server) + `\s+(\S+)\s+(-|\d+s ago)\s+(\d+)\s+(-|\S+ ago, \S+)\s*(.*)$`)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		m := sr.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		siteRow = m[1:]
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, " ") {
				break
			}
			if m := vr.FindStringSubmatch(l); m != nil {
				serverRow = m[1:]
			}
		}
	}
	if siteRow == nil || serverRow == nil {
		t.Fatalf("lbdns status lacks a row for site %s or its server %s:\n%s", site, server, text)
	}
	return siteRow, serverRow
}

// hcAgoAtMost checks a SINCE cell ("3s ago", rounded to the second) is no
// older than event, which happened before the status was taken.
func hcAgoAtMost(t *testing.T, cell string, event time.Time, what string) {
	t.Helper()
	max := time.Since(event) + time.Second
	n, err := strconv.Atoi(strings.TrimSuffix(cell, "s ago"))
	if err != nil || time.Duration(n)*time.Second > max {
		t.Errorf("%s: SINCE %q, want at most %v ago", what, cell, max.Round(time.Second))
	}
}

// ---- 1. targets going down and up, by probe kind ----

func TestE2EHealthTransitions(t *testing.T) {
	hosts := hcHosts()
	for _, kind := range []struct {
		kind, health string
		refused      string // in the last probe error of a stopped target
	}{
		{"tcp", "kind: tcp", "connection refused"},
		{"http", "kind: http, path: /healthz, expect: [200]", "connection refused"},
		{"https", "kind: https, path: /healthz, insecure: true", "connection refused"},
		{"dns", "kind: dns, query: probe.test, query_type: A", "connection refused"},
	} {
		t.Run(kind.kind, func(t *testing.T) {
			db, _ := createZone(t)
			a := hcNewTarget(t, kind.kind, hosts[0], nil)
			b := hcNewTarget(t, kind.kind, hosts[1], nil)
			const svc = "web.example.com"
			vips := map[string]string{"a": "192.0.2.1", "b": "192.0.2.2"}
			hcApply(t, db, hcService{
				name: svc, policy: "all", fallback: "none", health: hcShort(kind.health),
				sites: []hcSite{
					{name: "a", vip: vips["a"], servers: []hcServer{hcServerOf(a)}},
					{name: "b", vip: vips["b"], servers: []hcServer{hcServerOf(b)}},
				},
			})
			p := serve(t, db)
			both := []string{vips["a"], vips["b"]}
			hcAwaitDig(t, p, svc, time.Now(), 0, hcSettle, "both sites answered after rise",
				func(a []string) bool { return slices.Equal(a, both) })
			st := hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
			for _, s := range st.Sites {
				if srv := hcOneServer(t, s); !srv.Probed || !srv.Healthy || srv.Kind != kind.kind || srv.Weight != 1 || strings.Contains(srv.LastError, "refused") {
					t.Errorf("site %s server before the stop: %+v", s.Site, srv)
				}
			}
			if up, down := hcTransitions(t, p); up != 2 || down != 0 {
				t.Errorf("transitions after both targets rose: up %v down %v, want 2 and 0", up, down)
			}

			// Stop b's target. The site must outlive the first failed
			// probe: fall failures, interval apart, come after the stop.
			// (So that a slow probe failing just before cannot count as
			// one of them, stop right after one has passed.)
			hcEventually(t, time.Now(), hcSettle, "site b's last probe passed", func() (bool, string) {
				srv := hcOneServer(t, hcSiteStatus(t, hcStatus(t, db, svc), "b"))
				return srv.Healthy && srv.LastError == "", fmt.Sprintf("%+v", srv)
			})
			stopped := time.Now()
			b.stop()
			hcAwaitDig(t, p, svc, stopped, (hcFall-1)*hcInterval, hcFall*hcInterval+hcMargin, "site b out of answers after its target stopped",
				func(a []string) bool { return slices.Equal(a, []string{vips["a"]}) })
			st = hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": false})
			sb := hcSiteStatus(t, st, "b")
			srv := hcOneServer(t, sb)
			if srv.Healthy || !strings.Contains(srv.LastError, kind.refused) || srv.Weight != 0 {
				t.Errorf("site b server after the stop: healthy %v, last error %q (want %q), weight %d", srv.Healthy, srv.LastError, kind.refused, srv.Weight)
			}
			if d := srv.Since.Sub(stopped); d < (hcFall-1)*hcInterval {
				t.Errorf("site b's target went down %v after its server stopped, before %d probes %v apart could fail", d, hcFall, hcInterval)
			} else {
				t.Logf("target down %v after the stop (status since)", d.Round(time.Millisecond))
			}
			if sb.Since.Before(srv.Since) || !strings.Contains(sb.Reason, kind.refused) {
				t.Errorf("site b: since %v (target down at %v), reason %q (want %q in it)", sb.Since, srv.Since, sb.Reason, kind.refused)
			}
			if up, down := hcTransitions(t, p); up != 2 || down != 1 {
				t.Errorf("transitions after b went down: up %v down %v, want 2 and 1", up, down)
			}
			text := mustRun(t, db, "status").stdout
			siteRow, serverRow := hcStatusRows(t, text, svc, "b", b.addr)
			if siteRow[0] != "down" || !strings.Contains(siteRow[2], kind.refused) {
				t.Errorf("lbdns status: site b row %q, want state down and %q:\n%s", siteRow, kind.refused, text)
			}
			hcAgoAtMost(t, siteRow[1], stopped, "site b")
			if serverRow[0] != "unhealthy" || serverRow[2] != "0" || serverRow[3] == "-" || !strings.Contains(serverRow[4], kind.refused) {
				t.Errorf("lbdns status: server %s row %q, want unhealthy, weight 0, a last probe and %q:\n%s", b.addr, serverRow, kind.refused, text)
			}
			hcAgoAtMost(t, serverRow[1], stopped, "server "+b.addr)
			if _, row := hcStatusRows(t, text, svc, "a", a.addr); row[0] != "healthy" || row[2] != "1" || strings.Contains(row[4], "refused") {
				t.Errorf("lbdns status: server %s row %q, want healthy, weight 1, not refused:\n%s", a.addr, row, text)
			}

			// Start it again: back after rise successes.
			restarted := time.Now()
			b.start()
			hcAwaitDig(t, p, svc, restarted, (hcRise-1)*hcInterval, hcRise*hcInterval+hcMargin, "site b back in answers after its target restarted",
				func(a []string) bool { return slices.Equal(a, both) })
			st = hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
			srv = hcOneServer(t, hcSiteStatus(t, st, "b"))
			if !srv.Healthy || srv.LastError != "" || srv.Weight != 1 {
				t.Errorf("site b server after the restart: %+v", srv)
			}
			if d := srv.Since.Sub(restarted); d < (hcRise-1)*hcInterval {
				t.Errorf("site b's target came up %v after its server restarted, before %d probes %v apart could pass", d, hcRise, hcInterval)
			}
			if up, down := hcTransitions(t, p); up != 3 || down != 1 {
				t.Errorf("transitions after b came back: up %v down %v, want 3 and 1", up, down)
			}
			text = mustRun(t, db, "status").stdout
			if siteRow, serverRow := hcStatusRows(t, text, svc, "b", b.addr); siteRow[0] != "up" || siteRow[2] != "" || serverRow[0] != "healthy" || serverRow[2] != "1" {
				t.Errorf("lbdns status after the restart: site row %q, server row %q:\n%s", siteRow, serverRow, text)
			}
			m := hcMetrics(t, p)
			if ok := hcMustMetric(t, m, fmt.Sprintf(`lbdns_health_probes_total{kind=%q,result="ok"}`, kind.kind)); ok < 2*hcRise {
				t.Errorf("probes_total ok for %s = %v, want at least %d", kind.kind, ok, 2*hcRise)
			}
			if fail := hcMustMetric(t, m, fmt.Sprintf(`lbdns_health_probes_total{kind=%q,result="fail"}`, kind.kind)); fail < hcFall {
				t.Errorf("probes_total fail for %s = %v, want at least %d", kind.kind, fail, hcFall)
			}
		})
	}
}

// ---- 2. initial state ----

func TestE2EHealthInitial(t *testing.T) {
	hosts := hcHosts()
	// A longer interval than elsewhere: what is checked is the window
	// before the probes can have decided, and it must outlast process
	// start and a dig on a loaded machine.
	const interval = 500 * time.Millisecond
	health := fmt.Sprintf("kind: http, interval: %v, timeout: %v, rise: 2, fall: 2", interval, hcTimeout)
	const svc = "web.example.com"
	const vip = "192.0.2.1"
	service := func(initial string, rs hcServer) hcService {
		return hcService{name: svc, policy: "all", fallback: "none", initial: initial, health: health,
			sites: []hcSite{{name: "a", vip: vip, servers: []hcServer{rs}}}}
	}
	isNODATA := func(d digResult) bool {
		return d.status == "NOERROR" && d.hasFlag("aa") && len(d.sections["ANSWER"]) == 0 &&
			len(d.sections["AUTHORITY"]) == 1 && strings.Contains(d.sections["AUTHORITY"][0], "SOA")
	}
	answered := func(a []string) bool { return slices.Equal(a, []string{vip}) }

	t.Run("down at serve start", func(t *testing.T) {
		db, _ := createZone(t)
		tg := hcNewTarget(t, "http", hosts[0], nil)
		hcApply(t, db, service("down", hcServerOf(tg)))
		launched := time.Now()
		p := serve(t, db)
		// Deadlines count from the serving line, lower bounds from launch.
		by := time.Since(launched) + 2*interval + hcMargin
		d := p.dig(t, svc, "A")
		if el := time.Since(launched); el >= interval {
			t.Logf("first dig %v after launch, too late to tell initial: down apart (machine busy)", el)
		} else if !isNODATA(d) {
			t.Errorf("first dig after serve start, %v after launch, before any probe could pass twice: want NODATA with the SOA; %v", el.Round(time.Millisecond), d)
		}
		st := hcStatus(t, db, svc)
		if s := hcSiteStatus(t, st, "a"); s.Up && time.Since(launched) < interval {
			t.Errorf("status right after start: site up before rise: %+v", s)
		}
		hcAwaitDig(t, p, svc, launched, interval, by, "site answered after rise", answered)
		hcAgree(t, p, db, svc, map[string]string{"a": vip}, map[string]bool{"a": true})
	})

	t.Run("down after apply", func(t *testing.T) {
		db, _ := createZone(t)
		tg := hcNewTarget(t, "http", hosts[0], nil)
		p := serve(t, db)
		applied := time.Now()
		hcApply(t, db, service("down", hcServerOf(tg)))
		// The first dig right after apply; NXDOMAIN only while the new
		// snapshot is being swapped in.
		var first digResult
		nodata := 0
		for i := 0; ; i++ {
			d := p.dig(t, svc, "A")
			el := time.Since(applied)
			if i == 0 {
				first = d
				t.Logf("first dig after apply (%v): %s", el.Round(time.Millisecond), d.status)
			}
			if isNODATA(d) {
				nodata++
				break
			}
			if d.status != "NXDOMAIN" || el >= interval {
				if el < interval {
					t.Errorf("dig %v after apply, before rise: want NODATA (or NXDOMAIN while the change lands); %v", el.Round(time.Millisecond), d)
				} else {
					t.Logf("no NODATA seen within %v of apply (machine busy); last %v", interval, d)
				}
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if first.status == "NXDOMAIN" {
			t.Logf("note: the first dig right after service apply got NXDOMAIN; the new snapshot lands asynchronously")
		}
		hcAwaitDig(t, p, svc, applied, interval, 2*interval+hcMargin, "site answered after rise", answered)
		if nodata == 0 && time.Since(applied) < interval {
			t.Errorf("never saw NODATA before rise")
		}
		hcAgree(t, p, db, svc, map[string]string{"a": vip}, map[string]bool{"a": true})
	})

	t.Run("up at serve start", func(t *testing.T) {
		// A dead target: only initial: up can explain an answer, and it
		// must go once fall probes have failed.
		db, _ := createZone(t)
		host, port := hcDeadPort(t, hosts[0])
		hcApply(t, db, service("up", hcServer{host: host, port: port}))
		launched := time.Now()
		p := serve(t, db)
		// Deadlines count from the serving line, lower bounds from launch.
		by := time.Since(launched) + 2*interval + hcMargin
		d, a := hcAnswers(t, p, svc)
		if el := time.Since(launched); el >= interval {
			t.Logf("first dig %v after launch, too late to tell initial: up apart (machine busy)", el)
		} else if !answered(a) {
			t.Errorf("initial: up, first dig %v after launch: want %s at once; %v", el.Round(time.Millisecond), vip, d)
		}
		hcAwaitDig(t, p, svc, launched, interval, by, "dead target's site out of answers after fall",
			func(a []string) bool { return len(a) == 0 })
		st := hcAgree(t, p, db, svc, map[string]string{"a": vip}, map[string]bool{"a": false})
		if srv := hcOneServer(t, hcSiteStatus(t, st, "a")); !strings.Contains(srv.LastError, "connection refused") {
			t.Errorf("dead target: last error %q, want connection refused", srv.LastError)
		}
		if up, down := hcTransitions(t, p); up != 0 || down != 1 {
			t.Errorf("transitions: up %v down %v, want 0 and 1", up, down)
		}
	})

	t.Run("up after apply", func(t *testing.T) {
		db, _ := createZone(t)
		tg := hcNewTarget(t, "http", hosts[0], nil)
		p := serve(t, db)
		applied := time.Now()
		hcApply(t, db, service("up", hcServerOf(tg)))
		// Answered as soon as the service lands (NXDOMAIN until then),
		// never NODATA as it would be while an initially down site rises.
		for i := 0; ; i++ {
			sent := time.Since(applied)
			d := p.dig(t, svc, "A")
			el := time.Since(applied)
			if i == 0 {
				t.Logf("first dig after apply (%v): %s %q", el.Round(time.Millisecond), d.status, d.answers("A"))
			}
			if slices.Equal(d.answers("A"), []string{vip}) {
				break
			}
			if d.status != "NXDOMAIN" {
				t.Fatalf("initial: up, dig %v after apply: want %s at once (or NXDOMAIN while the change lands); %v", el.Round(time.Millisecond), vip, d)
			}
			if sent > visibleWithin {
				t.Fatalf("service not answered within %v of apply; %v", visibleWithin, d)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// It stays: the probes pass, nothing changes.
		for time.Since(applied) < 3*interval {
			if d, a := hcAnswers(t, p, svc); !answered(a) {
				t.Fatalf("initial: up with a healthy target dropped out; %v", d)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if up, down := hcTransitions(t, p); up != 0 || down != 0 {
			t.Errorf("transitions: up %v down %v, want none", up, down)
		}
		st := hcAgree(t, p, db, svc, map[string]string{"a": vip}, map[string]bool{"a": true})
		if srv := hcOneServer(t, hcSiteStatus(t, st, "a")); !srv.Healthy || srv.Probes == 0 {
			t.Errorf("server: %+v, want healthy and probed", srv)
		}
	})

	t.Run("down and never up", func(t *testing.T) {
		// initial: down with a dead target: never answered, and status
		// says why — the probe error, not "no probe yet".
		db, _ := createZone(t)
		host, port := hcDeadPort(t, hosts[0])
		server := net.JoinHostPort(host, strconv.Itoa(port))
		hcApply(t, db, service("down", hcServer{host: host, port: port}))
		p := serve(t, db)
		start := time.Now()
		for time.Since(start) < 3*interval {
			if d := p.dig(t, svc, "A"); !isNODATA(d) {
				t.Fatalf("initial: down, dead target: want NODATA with the SOA; %v", d)
			}
			time.Sleep(20 * time.Millisecond)
		}
		hcEventually(t, start, hcSettle, "3 probes failed", func() (bool, string) {
			srv := hcOneServer(t, hcSiteStatus(t, hcStatus(t, db, svc), "a"))
			return srv.Probes >= 3, fmt.Sprintf("%+v", srv)
		})
		st := hcAgree(t, p, db, svc, map[string]string{"a": vip}, map[string]bool{"a": false})
		s := hcSiteStatus(t, st, "a")
		srv := hcOneServer(t, s)
		if srv.Healthy || !strings.Contains(srv.LastError, "connection refused") {
			t.Errorf("server after %d probes: healthy %v, last error %q", srv.Probes, srv.Healthy, srv.LastError)
		}
		text := mustRun(t, db, "status").stdout
		siteRow, serverRow := hcStatusRows(t, text, svc, "a", server)
		if serverRow[0] != "unhealthy" || !strings.Contains(serverRow[4], "connection refused") {
			t.Errorf("lbdns status: server row %q, want unhealthy with connection refused:\n%s", serverRow, text)
		}
		if siteRow[0] != "down" || !strings.Contains(siteRow[2], "connection refused") || strings.Contains(siteRow[2], "no probe yet") {
			t.Errorf("lbdns status: site row %q after %d failed probes: want state down and the probe error (connection refused), not a stale reason:\n%s",
				siteRow, srv.Probes, text)
		}
		if strings.Contains(s.Reason, "no probe yet") {
			t.Errorf("status --json: site reason %q after %d failed probes", s.Reason, srv.Probes)
		}
	})
}

// ---- 3. fallbacks when every site is down ----

func TestE2EHealthFallbacks(t *testing.T) {
	hosts := hcHosts()
	db, _ := createZone(t)
	a := hcNewTarget(t, "http", hosts[0], nil)
	b := hcNewTarget(t, "http", hosts[1], nil)
	type fb struct {
		svc, fallback string
		vips          map[string]string
		sorry         []string
	}
	fbs := []fb{
		{"fb-all.example.com", "all", map[string]string{"a": "192.0.2.11", "b": "192.0.2.12"}, nil},
		{"fb-none.example.com", "none", map[string]string{"a": "192.0.2.21", "b": "192.0.2.22"}, nil},
		{"fb-sorry.example.com", "sorry", map[string]string{"a": "192.0.2.31", "b": "192.0.2.32"}, []string{"192.0.2.39"}},
	}
	var svcs []hcService
	for _, f := range fbs {
		svcs = append(svcs, hcService{name: f.svc, policy: "all", fallback: f.fallback, sorry: f.sorry, health: hcShort("kind: http"),
			sites: []hcSite{
				{name: "a", vip: f.vips["a"], servers: []hcServer{hcServerOf(a)}},
				{name: "b", vip: f.vips["b"], servers: []hcServer{hcServerOf(b)}},
			}})
	}
	hcApply(t, db, svcs...)
	p := serve(t, db)
	start := time.Now()
	for _, f := range fbs {
		// Not NODATA for fb-none, nor fail-open while the sites rise: wait
		// for status to say up before believing dig.
		hcEventually(t, start, hcSettle, f.svc+" sites up", func() (bool, string) {
			st := hcStatus(t, db, f.svc)
			return hcSiteStatus(t, st, "a").Up && hcSiteStatus(t, st, "b").Up, fmt.Sprintf("%+v", st)
		})
		both := []string{f.vips["a"], f.vips["b"]}
		hcAwaitDig(t, p, f.svc, start, 0, hcSettle, f.svc+" answers both sites", func(a []string) bool { return slices.Equal(a, both) })
		hcAgree(t, p, db, f.svc, f.vips, map[string]bool{"a": true, "b": true})
	}

	// Every site down.
	stopped := time.Now()
	a.stop()
	b.stop()
	for {
		sent := time.Since(stopped)
		// fallback none is NODATA, never NXDOMAIN, through the change.
		if d := p.dig(t, "fb-none.example.com", "A"); d.status != "NOERROR" {
			t.Errorf("fallback none while its sites go down: want NOERROR; %v", d)
		}
		allDown := true
		for _, s := range hcAllStatus(t, db) {
			for _, site := range s.Sites {
				allDown = allDown && !site.Up
			}
		}
		if allDown {
			t.Logf("every site down after %v", time.Since(stopped).Round(time.Millisecond))
			break
		}
		if sent > hcFall*hcInterval+hcMargin {
			t.Fatalf("not every site down within %v of stopping both targets:\n%s", hcFall*hcInterval+hcMargin, mustRun(t, db, "status").stdout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := hcMetrics(t, p)
	for _, f := range fbs {
		for _, site := range []string{"a", "b"} {
			if v := hcMustMetric(t, m, hcSiteUpKey(f.svc, site)); v != 0 {
				t.Errorf("%s = %v with every target stopped", hcSiteUpKey(f.svc, site), v)
			}
		}
		for site, tg := range map[string]*hcTarget{"a": a, "b": b} {
			if v := hcMustMetric(t, m, hcTargetUpKey(f.svc, site, tg.addr)); v != 0 {
				t.Errorf("%s = %v with every target stopped", hcTargetUpKey(f.svc, site, tg.addr), v)
			}
		}
	}
	downAt := time.Now()
	hcEventually(t, downAt, visibleWithin, "fallback all: every VIP (fail open)", func() (bool, string) {
		d, a := hcAnswers(t, p, "fb-all.example.com")
		return slices.Equal(a, []string{"192.0.2.11", "192.0.2.12"}), d.String()
	})
	hcEventually(t, downAt, visibleWithin, "fallback none: NODATA with the SOA", func() (bool, string) {
		d := p.dig(t, "fb-none.example.com", "A")
		return d.status == "NOERROR" && d.hasFlag("aa") && len(d.sections["ANSWER"]) == 0 &&
			len(d.sections["AUTHORITY"]) == 1 && regexp.MustCompile(`^example\.com\.\s+\d+\s+IN\s+SOA\s`).MatchString(d.sections["AUTHORITY"][0]), d.String()
	})
	hcEventually(t, downAt, visibleWithin, "fallback sorry: the sorry address", func() (bool, string) {
		d, a := hcAnswers(t, p, "fb-sorry.example.com")
		return slices.Equal(a, []string{"192.0.2.39"}), d.String()
	})
	for _, typ := range []string{"AAAA", "TXT"} {
		if d := p.dig(t, "fb-none.example.com", typ); d.status != "NOERROR" || len(d.sections["ANSWER"]) != 0 {
			t.Errorf("fallback none, %s: want NODATA; %v", typ, d)
		}
	}

	// One site back: fallbacks end, only that site is answered.
	restarted := time.Now()
	a.start()
	for _, f := range fbs {
		hcAwaitDig(t, p, f.svc, restarted, (hcRise-1)*hcInterval, hcRise*hcInterval+hcMargin, f.svc+": only site a once it is back",
			func(got []string) bool { return slices.Equal(got, []string{f.vips["a"]}) })
		hcAgree(t, p, db, f.svc, f.vips, map[string]bool{"a": true, "b": false})
	}
}

// ---- 5. flapping ----

func TestE2EHealthFlapping(t *testing.T) {
	hosts := hcHosts()
	db, _ := createZone(t)
	var flapping atomic.Bool
	var n atomic.Int64
	flappy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flapping.Load() && n.Add(1)%2 == 0 {
			http.Error(w, "flap", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok\n")
	})
	a := hcNewTarget(t, "http", hosts[0], flappy)
	b := hcNewTarget(t, "http", hosts[1], nil)
	const svc = "web.example.com"
	vips := map[string]string{"a": "192.0.2.1", "b": "192.0.2.2"}
	// (The long timeout matters here: a probe timing out on a busy
	// machine would add a failure to the alternation.)
	hcApply(t, db, hcService{name: svc, policy: "all", fallback: "none", health: hcShort("kind: http"),
		sites: []hcSite{
			{name: "a", vip: vips["a"], servers: []hcServer{hcServerOf(a)}},
			{name: "b", vip: vips["b"], servers: []hcServer{hcServerOf(b)}},
		}})
	p := serve(t, db)
	both := []string{vips["a"], vips["b"]}
	hcAwaitDig(t, p, svc, time.Now(), 0, hcSettle, "both sites up", func(a []string) bool { return slices.Equal(a, both) })
	before := hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
	up0, down0 := hcTransitions(t, p)
	m0 := hcMetrics(t, p)
	fail0, _ := metric(m0, `lbdns_health_probes_total{kind="http",result="fail"}`)
	hits0 := a.hits.Load()

	flapping.Store(true)
	start := time.Now()
	digs := 0
	for time.Since(start) < 2*time.Second {
		if d, got := hcAnswers(t, p, svc); !slices.Equal(got, both) {
			t.Fatalf("answers changed %v into flapping (200/500 alternating, rise %d fall %d); %v\nstatus:\n%s",
				time.Since(start).Round(time.Millisecond), hcRise, hcFall, d, mustRun(t, db, "status").stdout)
		}
		digs++
		time.Sleep(20 * time.Millisecond)
	}
	flapping.Store(false)
	hits := a.hits.Load() - hits0
	t.Logf("%d digs over 2s of flapping; %d probes reached the flapping target", digs, hits)
	if hits < 6 {
		t.Errorf("only %d probes reached the flapping target in 2s at interval %v", hits, hcInterval)
	}
	if up, down := hcTransitions(t, p); up != up0 || down != down0 {
		t.Errorf("lbdns_health_transitions_total changed while flapping: up %v→%v, down %v→%v", up0, up, down0, down)
	}
	fail, _ := metric(hcMetrics(t, p), `lbdns_health_probes_total{kind="http",result="fail"}`)
	if fail-fail0 < 2 {
		t.Errorf("probes_total fail grew by %v while flapping, want the 500s counted", fail-fail0)
	}
	after := hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
	s0, s1 := hcOneServer(t, hcSiteStatus(t, before, "a")), hcOneServer(t, hcSiteStatus(t, after, "a"))
	if !s1.Healthy || !s1.Since.Equal(s0.Since) || !hcSiteStatus(t, after, "a").Since.Equal(hcSiteStatus(t, before, "a").Since) {
		t.Errorf("flapping target's status changed: before %+v, after %+v", s0, s1)
	}
	if s1.Probes <= s0.Probes {
		t.Errorf("status probes count did not grow: %d → %d", s0.Probes, s1.Probes)
	}
}

// ---- 6. drain and enable ----

func TestE2EHealthDrain(t *testing.T) {
	hosts := hcHosts()
	db, _ := createZone(t)
	a := hcNewTarget(t, "http", hosts[0], nil)
	b := hcNewTarget(t, "http", hosts[1], nil)
	const svc = "web.example.com"
	const ttl = 45
	vips := map[string]string{"a": "192.0.2.1", "b": "192.0.2.2"}
	ra, rb := hcServerOf(a), hcServerOf(b)
	ra.weight, rb.weight = 5, 3
	hcApply(t, db, hcService{name: svc, policy: "all", fallback: "none", ttl: ttl, health: hcShort("kind: http"),
		sites: []hcSite{{name: "a", vip: vips["a"], servers: []hcServer{ra}}, {name: "b", vip: vips["b"], servers: []hcServer{rb}}}})
	p := serve(t, db)
	both := []string{vips["a"], vips["b"]}
	hcAwaitDig(t, p, svc, time.Now(), 0, hcSettle, "both sites up", func(a []string) bool { return slices.Equal(a, both) })
	st := hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
	if w := hcOneServer(t, hcSiteStatus(t, st, "a")).Weight; w != 5 {
		t.Errorf("site a server weight %d before drain, want 5", w)
	}

	ran := time.Now()
	r := mustRun(t, db, "site", "drain", svc, "a")
	t.Logf("site drain printed:\n%s", r.stdout)
	if !strings.Contains(r.stdout, "site a of "+svc+". is drained") {
		t.Errorf("site drain printed %q", r.stdout)
	}
	m := regexp.MustCompile(fmt.Sprintf(`cached answers for up to %ds, until (\S+)\n`, ttl)).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Errorf("site drain did not print the cache expiry (TTL %d and a time):\n%s", ttl, r.stdout)
	} else if until, err := time.Parse(time.RFC3339, m[1]); err != nil {
		t.Errorf("cache expiry %q: %v", m[1], err)
	} else if want := ran.Add(ttl * time.Second); until.Before(want.Add(-2*time.Second)) || until.After(time.Now().Add(ttl*time.Second+time.Second)) {
		t.Errorf("cache expiry %v, want about %v (now + TTL %ds)", until, want.UTC(), ttl)
	}
	hcAwaitDig(t, p, svc, ran, 0, visibleWithin, "drained site out of answers", func(a []string) bool { return slices.Equal(a, []string{vips["b"]}) })
	st = hcAgree(t, p, db, svc, vips, map[string]bool{"a": false, "b": true})
	sa := hcSiteStatus(t, st, "a")
	if sa.Admin != "drained" || sa.Up || !strings.Contains(sa.Reason, "drained") {
		t.Errorf("status --json of the drained site: %+v", sa)
	}
	if srv := hcOneServer(t, sa); srv.Weight != 0 || !srv.Healthy {
		t.Errorf("drained site server: weight %d healthy %v, want weight 0 and still healthy (probed)", srv.Weight, srv.Healthy)
	}
	if mv := hcMustMetric(t, hcMetrics(t, p), hcTargetUpKey(svc, "a", a.addr)); mv != 1 {
		t.Errorf("%s = %v: draining is not a health failure", hcTargetUpKey(svc, "a", a.addr), mv)
	}
	text := mustRun(t, db, "status").stdout
	if siteRow, serverRow := hcStatusRows(t, text, svc, "a", a.addr); siteRow[0] != "drained" || serverRow[2] != "0" {
		t.Errorf("lbdns status: drained site row %q, server row %q; want drained and weight 0:\n%s", siteRow, serverRow, text)
	}
	if _, serverRow := hcStatusRows(t, text, svc, "b", b.addr); serverRow[2] != "3" {
		t.Errorf("lbdns status: site b server row %q, want weight 3:\n%s", serverRow, text)
	}
	if out := mustRun(t, db, "service", "list").stdout; !strings.Contains(out, "a (drained)") {
		t.Errorf("service list does not show the drained site:\n%s", out)
	}

	ran = time.Now()
	r = mustRun(t, db, "site", "enable", svc, "a")
	if !strings.Contains(r.stdout, "site a of "+svc+". is enabled") {
		t.Errorf("site enable printed %q", r.stdout)
	}
	hcAwaitDig(t, p, svc, ran, 0, visibleWithin, "enabled site back in answers", func(a []string) bool { return slices.Equal(a, both) })
	st = hcAgree(t, p, db, svc, vips, map[string]bool{"a": true, "b": true})
	if sa := hcSiteStatus(t, st, "a"); sa.Admin != "enabled" || hcOneServer(t, sa).Weight != 5 {
		t.Errorf("status --json after enable: %+v", sa)
	}
	if up, down := hcTransitions(t, p); up != 2 || down != 0 {
		t.Errorf("drain and enable moved health transitions: up %v down %v, want 2 and 0", up, down)
	}
}

// ---- 7. old probes stop ----

// quiet checks that count stops growing: after settle it must not change
// for another hold.
func hcQuiet(t *testing.T, what string, settle, hold time.Duration, count func() int64) {
	t.Helper()
	time.Sleep(settle)
	c1 := count()
	time.Sleep(hold)
	if c2 := count(); c2 != c1 {
		t.Errorf("%s: %d more probes arrived between %v and %v later", what, c2-c1, settle, settle+hold)
	}
}

// awaitHits waits until count reaches at least n.
func hcAwaitHits(t *testing.T, what string, n int64, count func() int64) {
	t.Helper()
	hcEventually(t, time.Now(), hcSettle, what, func() (bool, string) {
		c := count()
		return c >= n, fmt.Sprintf("%d probes", c)
	})
}

func TestE2EHealthProbesStop(t *testing.T) {
	hosts := hcHosts()
	const svc = "web.example.com"
	settle, hold := 3*hcInterval, time.Second

	t.Run("service delete", func(t *testing.T) {
		db, _ := createZone(t)
		tg := hcNewTarget(t, "tcp", hosts[0], nil)
		hcApply(t, db, hcService{name: svc, fallback: "none", health: hcShort("kind: tcp"),
			sites: []hcSite{{name: "a", vip: "192.0.2.1", servers: []hcServer{hcServerOf(tg)}}}})
		p := serve(t, db)
		hcAwaitHits(t, "probes reach the target", 3, tg.hits.Load)
		mustRun(t, db, "service", "delete", svc)
		deleted := time.Now()
		hcEventually(t, deleted, visibleWithin, "deleted service gone from status and DNS", func() (bool, string) {
			d := p.dig(t, svc, "A")
			st := hcAllStatus(t, db)
			return d.status == "NXDOMAIN" && len(st) == 0, fmt.Sprintf("%v\nstatus: %+v", d, st)
		})
		hcQuiet(t, "after service delete", settle, hold, tg.hits.Load)
		if m := hcGrepHealth(hcMetrics(t, p)); strings.Contains(m, svc) {
			t.Errorf("/metrics still has gauges of the deleted service:\n%s", m)
		}
	})

	t.Run("re-apply", func(t *testing.T) {
		db, _ := createZone(t)
		x := hcNewTarget(t, "http", hosts[0], nil)
		y := hcNewTarget(t, "http", hosts[1], nil)
		apply := func(path string, tg *hcTarget) {
			hcApply(t, db, hcService{name: svc, fallback: "none", health: hcShort("kind: http, path: " + path),
				sites: []hcSite{{name: "a", vip: "192.0.2.1", servers: []hcServer{hcServerOf(tg)}}}})
		}
		apply("/v1", x)
		serve(t, db)
		v1 := func() int64 { return int64(x.pathHits("/v1")) }
		hcAwaitHits(t, "probes of /v1", 3, v1)

		// Same server, new probe: the old probe loop stops.
		apply("/v2", x)
		hcAwaitHits(t, "probes of /v2 after re-apply", 2, func() int64 { return int64(x.pathHits("/v2")) })
		hcQuiet(t, "old /v1 probes after re-apply with /v2", settle, hold, v1)

		// Another real server: the old one is probed no more.
		apply("/v2", y)
		hcAwaitHits(t, "probes of the new real server", 2, y.hits.Load)
		hcQuiet(t, "old real server after re-apply without it", settle, hold, x.hits.Load)
		st := hcStatus(t, db, svc)
		if srv := hcOneServer(t, hcSiteStatus(t, st, "a")); srv.Server != y.addr {
			t.Errorf("status lists server %s, want %s", srv.Server, y.addr)
		}
	})

	t.Run("site disable", func(t *testing.T) {
		db, _ := createZone(t)
		tg := hcNewTarget(t, "tcp", hosts[0], nil)
		hcApply(t, db, hcService{name: svc, fallback: "none", health: hcShort("kind: tcp"),
			sites: []hcSite{{name: "a", vip: "192.0.2.1", servers: []hcServer{hcServerOf(tg)}}}})
		p := serve(t, db)
		hcAwaitHits(t, "probes reach the target", 3, tg.hits.Load)
		mustRun(t, db, "site", "disable", svc, "a")
		hcEventually(t, time.Now(), visibleWithin, "disabled site out of answers", func() (bool, string) {
			d := p.dig(t, svc, "A")
			return d.status == "NOERROR" && len(d.answers("A")) == 0, d.String()
		})
		hcQuiet(t, "after site disable", settle, hold, tg.hits.Load)
		if s := hcSiteStatus(t, hcStatus(t, db, svc), "a"); s.Admin != "disabled" || s.Up {
			t.Errorf("status of the disabled site: %+v", s)
		}
		mustRun(t, db, "site", "enable", svc, "a")
		n := tg.hits.Load()
		hcAwaitHits(t, "probes resume after site enable", n+2, tg.hits.Load)
		hcEventually(t, time.Now(), hcRise*hcInterval+hcMargin, "enabled site answered after rise", func() (bool, string) {
			d := p.dig(t, svc, "A")
			return slices.Equal(d.answers("A"), []string{"192.0.2.1"}), d.String()
		})
	})
}

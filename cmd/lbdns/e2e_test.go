package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/ipvsbridge"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

// End-to-end tests: the binary TestMain built, run as an operator runs it,
// queried with dig (and, for volume, with miekg/dns).

// visibleWithin is how soon a committed change must be answered.
const visibleWithin = time.Second

// ---- processes ----

// proc is a running lbdns (serve or demo) whose output the test reads.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
	dnsAddr string        // first bound DNS address, "127.0.0.1:PORT"
	port    string
	admin   string
}

var servingLine = regexp.MustCompile(`msg=serving .*dns=\[([^\] ]+)[^\]]*\] admin=(\S+)`)

// lbdnsCommand is the binary with a cleaned environment plus env, run in
// a scratch directory, as lbdns() in cli_test.go does.
func lbdnsCommand(ctx context.Context, t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, lbdnsBin, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LBDNS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// startProc starts lbdns and returns once it has logged that it serves.
// Cleanup stops it: SIGTERM, then SIGKILL if it lingers.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: lbdnsCommand(context.Background(), t, env, args...), stdout: new(syncBuffer), stderr: new(syncBuffer), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start lbdns %q: %v", args, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)

	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := servingLine.FindStringSubmatch(p.stderr.String()); m != nil {
			p.dnsAddr, p.admin = m[1], m[2]
			p.port = p.dnsAddr[strings.LastIndex(p.dnsAddr, ":")+1:]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("lbdns %q exited before serving: %v\nstdout:\n%s\nstderr:\n%s", args, p.waitErr, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lbdns %q logged no msg=serving line within 10s; stderr:\n%s", args, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serve starts `lbdns --db db serve` on ephemeral loopback ports.
func serve(t *testing.T, db string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, extra...)
	return startProc(t, nil, args...)
}

// signal sends sig and waits up to within for the exit. It returns the
// exit status, and false if the process is still running.
func (p *proc) signal(sig os.Signal, within time.Duration) (int, bool) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(within):
		return 0, false
	}
}

func (p *proc) stop() {
	if _, ok := p.signal(syscall.SIGTERM, 5*time.Second); !ok {
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("lbdns %q ignored SIGTERM for 5s and was killed; stderr:\n%s", p.cmd.Args[1:], p.stderr)
	}
}

// runWithin runs lbdns to completion, failing the test if it is still
// running after d (as a server that should have refused to start would be).
func runWithin(t *testing.T, d time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	cmd := lbdnsCommand(ctx, t, nil, args...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("lbdns %q still running after %v (killed); stderr:\n%s", args, d, r.stderr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running lbdns %q: %v", args, err)
	}
	return r
}

// ---- dig ----

// digResult is dig's output, parsed.
type digResult struct {
	args     []string
	out      string
	status   string              // NOERROR, NXDOMAIN, ...; "" if no reply
	flags    []string            // qr, aa, ...
	sections map[string][]string // "ANSWER" -> record lines
}

func (d digResult) String() string {
	return fmt.Sprintf("dig %s:\n%s", strings.Join(d.args, " "), d.out)
}

func (d digResult) hasFlag(f string) bool { return slices.Contains(d.flags, f) }

// answers returns the ANSWER records of type typ, as their data fields.
func (d digResult) answers(typ string) []string {
	var out []string
	for _, l := range d.sections["ANSWER"] {
		if f := strings.Fields(l); len(f) >= 5 && f[3] == typ {
			out = append(out, strings.Join(f[4:], " "))
		}
	}
	return out
}

var (
	digHeader = regexp.MustCompile(`;; ->>HEADER<<- opcode: \w+, status: (\w+),`)
	digFlags  = regexp.MustCompile(`(?m)^;; flags: ([a-z ]*);`)
	digSect   = regexp.MustCompile(`^;; ([A-Z]+) SECTION:$`)
)

func digPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dig")
	if err != nil {
		t.Fatalf("dig not found (%v): the end-to-end tests need it; `make test` installs it (Debian package bind9-dnsutils)", err)
	}
	return p
}

// digRaw runs dig with args as given, plus one try of one second.
func digRaw(t *testing.T, args ...string) digResult {
	t.Helper()
	args = append(slices.Clone(args), "+time=1", "+tries=1")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, digPath(t), args...).CombinedOutput()
	d := digResult{args: args, out: string(out), sections: map[string][]string{}}
	if ctx.Err() != nil {
		t.Fatalf("dig %q hung: %s", args, out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("dig %q: %v", args, err)
	}
	if m := digHeader.FindStringSubmatch(d.out); m != nil {
		d.status = m[1]
	}
	if m := digFlags.FindStringSubmatch(d.out); m != nil {
		d.flags = strings.Fields(m[1])
	}
	sect := ""
	for l := range strings.Lines(d.out) {
		l = strings.TrimRight(l, "\n")
		if m := digSect.FindStringSubmatch(l); m != nil {
			sect = m[1]
			continue
		}
		if l == "" {
			sect = ""
			continue
		}
		if sect != "" && !strings.HasPrefix(l, ";") {
			d.sections[sect] = append(d.sections[sect], l)
		}
	}
	return d
}

// dig asks the server at p for name and type, as an operator checking an
// authoritative server would.
func (p *proc) dig(t *testing.T, name, typ string, extra ...string) digResult {
	t.Helper()
	return digRaw(t, append([]string{"@127.0.0.1", "-p", p.port, name, typ, "+norec"}, extra...)...)
}

// soaSerial is the serial of the SOA dig got in its ANSWER section.
func soaSerial(t *testing.T, d digResult) uint32 {
	t.Helper()
	soa := d.answers("SOA")
	if d.status != "NOERROR" || len(soa) != 1 {
		t.Fatalf("want one SOA answer; %v", d)
	}
	f := strings.Fields(soa[0]) // mname rname serial refresh retry expire minimum
	n, err := strconv.ParseUint(f[2], 10, 32)
	if err != nil {
		t.Fatalf("SOA serial %q: %v", f[2], err)
	}
	return uint32(n)
}

// within polls check every 20ms until it holds, failing the test if it
// does not within d of since (when the change was made).
func within(t *testing.T, since time.Time, d time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	for {
		ok, last := check()
		elapsed := time.Since(since)
		if ok {
			t.Logf("%s after %v", what, elapsed.Round(time.Millisecond))
			return
		}
		if elapsed > d {
			t.Fatalf("%s: not within %v (gave up after %v); last seen:\n%s", what, d, elapsed.Round(time.Millisecond), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// printedSerial reads "(ORIGIN serial N)" from a command's output.
func printedSerial(t *testing.T, out string) uint32 {
	t.Helper()
	m := regexp.MustCompile(`serial (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no serial in %q", out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 32)
	return uint32(n)
}

// createZone makes example.com the way the README's first step does.
func createZone(t *testing.T) (db string, serial uint32) {
	t.Helper()
	db = filepath.Join(t.TempDir(), "lbdns.db")
	r := mustRun(t, db, "zone", "create", "example.com", "--ns", "ns1.example.com=192.0.2.53", "--email", "hostmaster@example.com")
	return db, printedSerial(t, r.stdout)
}

// ---- 1. live changes ----

func TestE2ELiveChanges(t *testing.T) {
	db, serial := createZone(t)
	p := serve(t, db)

	if got := soaSerial(t, p.dig(t, "example.com", "SOA")); got != serial {
		t.Fatalf("served SOA serial %d, zone create printed %d", got, serial)
	}

	// Add, through the admin API since the server holds the database.
	r := mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.10", "--ttl", "300")
	added := time.Now()
	var answer digResult
	within(t, added, visibleWithin, "record add answered", func() (bool, string) {
		answer = p.dig(t, "www.example.com", "A")
		return answer.status == "NOERROR" && slices.Equal(answer.answers("A"), []string{"192.0.2.10"}), answer.String()
	})
	if !strings.Contains(p.stderr.String(), `msg="admin: add record" name=www.example.com`) {
		t.Errorf("record add did not go through the server's admin API; server log:\n%s", p.stderr)
	}
	if !answer.hasFlag("aa") || answer.hasFlag("ra") {
		t.Errorf("answer flags %v, want aa and no ra; %v", answer.flags, answer)
	}
	if l := answer.sections["ANSWER"]; len(l) != 1 || strings.Fields(l[0])[1] != "300" {
		t.Errorf("answer %q, want one record with TTL 300", l)
	}
	s := soaSerial(t, p.dig(t, "example.com", "SOA"))
	if s <= serial || s != printedSerial(t, r.stdout) {
		t.Errorf("SOA serial after record add = %d; was %d, record add printed %q", s, serial, r.stdout)
	}
	serial = s

	// Reads against the running server.
	if recs := listRecords(t, db, "example.com"); !hasRecord(recs, zones.Record{Name: "www.example.com.", Type: "A", TTL: 300, Data: "192.0.2.10"}) {
		t.Errorf("record list --json against the server lacks www: %+v", recs)
	}
	exported := mustRun(t, db, "zone", "export", "example.com").stdout
	if !regexp.MustCompile(`(?m)^www\.example\.com\.\s+300\s+IN\s+A\s+192\.0\.2\.10$`).MatchString(exported) ||
		!strings.Contains(exported, fmt.Sprintf(" %d ", serial)) {
		t.Errorf("zone export against the server lacks www or serial %d:\n%s", serial, exported)
	}

	// Delete: NXDOMAIN, authoritatively, with the SOA.
	r = mustRun(t, db, "record", "delete", "www.example.com", "A", "192.0.2.10")
	deleted := time.Now()
	var gone digResult
	within(t, deleted, visibleWithin, "record delete gives NXDOMAIN", func() (bool, string) {
		gone = p.dig(t, "www.example.com", "A")
		return gone.status == "NXDOMAIN", gone.String()
	})
	if !gone.hasFlag("aa") || len(gone.sections["ANSWER"]) != 0 || len(gone.sections["AUTHORITY"]) != 1 ||
		!strings.Contains(gone.sections["AUTHORITY"][0], "SOA") {
		t.Errorf("NXDOMAIN without aa, or with an answer, or without the SOA; %v", gone)
	}
	s = soaSerial(t, p.dig(t, "example.com", "SOA"))
	if s <= serial || s != printedSerial(t, r.stdout) {
		t.Errorf("SOA serial after record delete = %d; was %d, record delete printed %q", s, serial, r.stdout)
	}

	// Import a second zone while serving.
	file := writeFile(t, "example.org.zone", `$ORIGIN example.org.
$TTL 600
@    IN SOA ns.example.net. hostmaster.example.org. 7 3600 600 1209600 300
@    IN NS  ns.example.net.
www  IN A   198.51.100.7
`)
	r = mustRun(t, db, "zone", "import", "example.org", file)
	imported := time.Now()
	within(t, imported, visibleWithin, "imported zone answered", func() (bool, string) {
		d := p.dig(t, "www.example.org", "A")
		return d.status == "NOERROR" && d.hasFlag("aa") && slices.Equal(d.answers("A"), []string{"198.51.100.7"}), d.String()
	})
	if s := soaSerial(t, p.dig(t, "example.org", "SOA")); s != printedSerial(t, r.stdout) {
		t.Errorf("example.org SOA serial %d, zone import printed %q", s, r.stdout)
	}

	// Delete it: no longer ours, so REFUSED; example.com is untouched.
	mustRun(t, db, "zone", "delete", "example.org")
	zoneDeleted := time.Now()
	within(t, zoneDeleted, visibleWithin, "deleted zone REFUSED", func() (bool, string) {
		d := p.dig(t, "www.example.org", "A")
		return d.status == "REFUSED", d.String()
	})
	if d := p.dig(t, "example.com", "SOA"); d.status != "NOERROR" || !d.hasFlag("aa") {
		t.Errorf("example.com after deleting example.org: %v", d)
	}
	var infos []zones.ZoneInfo
	if err := json.Unmarshal([]byte(mustRun(t, db, "zone", "list", "--json").stdout), &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Origin != "example.com." {
		t.Errorf("zone list --json against the server: %+v", infos)
	}
}

// ---- 2. no query lost ----

func TestE2ENoQueryLostDuringChanges(t *testing.T) {
	db, _ := createZone(t)
	mustRun(t, db, "record", "add", "stable.example.com", "A", "192.0.2.1")
	p := serve(t, db)

	const workers, minQueries = 4, 2000
	var (
		sent, failed   atomic.Int64
		mu             sync.Mutex
		failures       []string
		changesDone    = make(chan struct{})
		wg             sync.WaitGroup
		inWindow       int64
		windowStart    int64
		windowDuration time.Duration
	)
	query := func(c *dns.Client) {
		m := new(dns.Msg)
		m.SetQuestion("stable.example.com.", dns.TypeA)
		m.RecursionDesired = false
		r, _, err := c.Exchange(m, p.dnsAddr)
		sent.Add(1)
		var bad string
		switch {
		case err != nil:
			bad = err.Error()
		case r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1:
			bad = r.String()
		default:
			if a, ok := r.Answer[0].(*dns.A); !ok || a.A.String() != "192.0.2.1" {
				bad = r.String()
			}
		}
		if bad != "" {
			failed.Add(1)
			mu.Lock()
			if len(failures) < 5 {
				failures = append(failures, bad)
			}
			mu.Unlock()
		}
	}
	for range workers {
		wg.Go(func() {
			c := &dns.Client{Net: "udp", Timeout: time.Second}
			for {
				select {
				case <-changesDone:
					if sent.Load() >= minQueries {
						return
					}
				default:
				}
				query(c)
			}
		})
	}

	// 20 changes to the zone holding the name, half of them at that very
	// name (another type), ending where they started.
	start := time.Now()
	windowStart = sent.Load()
	var last string
	for i := range 20 {
		var args []string
		switch i % 4 {
		case 0:
			args = []string{"record", "add", fmt.Sprintf("churn%d.example.com", i), "A", "192.0.2.100"}
		case 1:
			args = []string{"record", "add", "stable.example.com", "AAAA", fmt.Sprintf("2001:db8::%d", i)}
		case 2:
			args = []string{"record", "delete", fmt.Sprintf("churn%d.example.com", i-2), "A"}
		case 3:
			args = []string{"record", "delete", "stable.example.com", "AAAA", fmt.Sprintf("2001:db8::%d", i-2)}
		}
		last = mustRun(t, db, args...).stdout
	}
	want := printedSerial(t, last)
	within(t, time.Now(), visibleWithin, "last change answered", func() (bool, string) {
		d := p.dig(t, "example.com", "SOA")
		return d.status == "NOERROR" && soaSerial(t, d) == want, d.String()
	})
	inWindow = sent.Load() - windowStart
	windowDuration = time.Since(start)
	close(changesDone)
	wg.Wait()

	t.Logf("%d queries, %d of them during the 20 changes (%v), %d failed", sent.Load(), inWindow, windowDuration.Round(time.Millisecond), failed.Load())
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d queries for stable.example.com A failed while changes landed; first failures:\n%s",
			n, sent.Load(), strings.Join(failures, "\n---\n"))
	}
	if n := sent.Load(); n < minQueries {
		t.Errorf("only %d queries sent, want at least %d", n, minQueries)
	}
	if !strings.Contains(p.stderr.String(), `msg="admin: delete record"`) {
		t.Errorf("the changes did not go through the admin API; server log:\n%s", p.stderr)
	}
}

// ---- 3. query log ----

func TestE2EQueryLog(t *testing.T) {
	db, _ := createZone(t)
	mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.10")
	p := serve(t, db, "--log-queries")

	for _, q := range []struct {
		name, typ, rcode, proto string
		extra                   []string
	}{
		{"www.example.com", "A", "NOERROR", "udp", nil},
		{"nope.example.com", "AAAA", "NXDOMAIN", "udp", nil},
		{"www.example.com", "A", "NOERROR", "tcp", []string{"+tcp"}},
	} {
		if d := p.dig(t, q.name, q.typ, q.extra...); d.status != q.rcode {
			t.Fatalf("want %s; %v", q.rcode, d)
		}
		line := regexp.MustCompile(`(?m)^.*level=INFO msg=query .*$`)
		want := []string{
			"name=" + q.name + ".", "type=" + q.typ, "rcode=" + q.rcode, "proto=" + q.proto,
		}
		client := regexp.MustCompile(`client=127\.0\.0\.1:\d+ `)
		within(t, time.Now(), visibleWithin, fmt.Sprintf("query log line for %s %s over %s", q.name, q.typ, q.proto), func() (bool, string) {
			log := p.stderr.String()
			for _, l := range line.FindAllString(log, -1) {
				if client.MatchString(l) && allIn(l+" ", want) {
					return true, l
				}
			}
			return false, log
		})
	}
}

// allIn reports whether every one of words appears in s followed by a space.
func allIn(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w+" ") {
			return false
		}
	}
	return true
}

// ---- 4. metrics and admin auth ----

func httpGet(t *testing.T, url, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// metric returns the value of the sample named exactly key ("name{labels}").
func metric(text, key string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func TestE2EMetricsAndAdminAuth(t *testing.T) {
	db, _ := createZone(t)
	mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.10")
	p := serve(t, db)
	metricsURL := "http://" + p.admin + "/metrics"

	const okQueries, nxQueries = 5, 2
	for range okQueries {
		if d := p.dig(t, "www.example.com", "A"); d.status != "NOERROR" {
			t.Fatal(d)
		}
	}
	for range nxQueries {
		if d := p.dig(t, "nope.example.com", "A"); d.status != "NXDOMAIN" {
			t.Fatal(d)
		}
	}
	const okKey = `lbdns_dns_queries_total{type="A",rcode="NOERROR"}`
	const nxKey = `lbdns_dns_queries_total{type="A",rcode="NXDOMAIN"}`
	var text string
	within(t, time.Now(), visibleWithin, "queries counted", func() (bool, string) {
		code, hdr, body := httpGet(t, metricsURL, "")
		text = body
		n, _ := metric(body, okKey)
		m, _ := metric(body, nxKey)
		return code == 200 && strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") && n >= okQueries && m >= nxQueries,
			fmt.Sprintf("status %d, Content-Type %q:\n%s", code, hdr.Get("Content-Type"), body)
	})
	if n, _ := metric(text, okKey); n != okQueries {
		t.Errorf("%s = %v, want %d (dig sent that many)", okKey, n, okQueries)
	}
	if n, _ := metric(text, nxKey); n != nxQueries {
		t.Errorf("%s = %v, want %d", nxKey, n, nxQueries)
	}
	const total = okQueries + nxQueries
	if n, ok := metric(text, "lbdns_dns_request_duration_seconds_count"); !ok || n != total {
		t.Errorf("latency histogram count = %v (present %v), want %d:\n%s", n, ok, total, text)
	}
	if n, ok := metric(text, `lbdns_dns_request_duration_seconds_bucket{le="+Inf"}`); !ok || n != total {
		t.Errorf("latency histogram +Inf bucket = %v (present %v), want %d", n, ok, total)
	}
	if n, ok := metric(text, "lbdns_dns_request_duration_seconds_sum"); !ok || n <= 0 {
		t.Errorf("latency histogram sum = %v (present %v), want > 0", n, ok)
	}
	if !strings.Contains(text, "# TYPE lbdns_dns_request_duration_seconds histogram") {
		t.Errorf("no histogram TYPE line:\n%s", text)
	}
	prev := -1.0
	for _, m := range regexp.MustCompile(`(?m)^lbdns_dns_request_duration_seconds_bucket\{le="[^"]+"\} (\d+)$`).FindAllStringSubmatch(text, -1) {
		n, _ := strconv.ParseFloat(m[1], 64)
		if n < prev {
			t.Errorf("histogram buckets not cumulative:\n%s", text)
		}
		prev = n
	}

	// The admin API wants the token beside the database.
	zonesURL := "http://" + p.admin + "/v1/zones"
	if code, hdr, body := httpGet(t, zonesURL, ""); code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("GET /v1/zones without a token: %d %q %s, want 401 with WWW-Authenticate", code, hdr.Get("WWW-Authenticate"), body)
	}
	if code, _, body := httpGet(t, zonesURL, strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Errorf("GET /v1/zones with a wrong token: %d %s, want 401", code, body)
	}
	tok, err := os.ReadFile(adminapi.TokenPath(db))
	if err != nil {
		t.Fatal(err)
	}
	code, _, body := httpGet(t, zonesURL, strings.TrimSpace(string(tok)))
	var infos []zones.ZoneInfo
	if code != http.StatusOK || json.Unmarshal([]byte(body), &infos) != nil || len(infos) != 1 || infos[0].Origin != "example.com." {
		t.Errorf("GET /v1/zones with the token from %s: %d %s", adminapi.TokenPath(db), code, body)
	}
	if strings.Contains(p.stderr.String(), "msg=query") {
		t.Errorf("queries logged without --log-queries:\n%s", p.stderr)
	}
}

// ---- 5. token and address files ----

func TestE2ETokenFile(t *testing.T) {
	db, _ := createZone(t)
	p := serve(t, db)
	fi, err := os.Stat(adminapi.TokenPath(db))
	if err != nil {
		t.Fatalf("serve did not create the token file: %v", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want -rw------- (0600)", fi.Mode())
	}
	tok, err := os.ReadFile(adminapi.TokenPath(db))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}\n?$`).Match(tok) {
		t.Errorf("token file holds %q, want 64 hex digits", tok)
	}
	if addr, err := os.ReadFile(adminapi.AddrPath(db)); err != nil || strings.TrimSpace(string(addr)) != p.admin {
		t.Errorf("%s = %q (%v), want the logged admin address %s", adminapi.AddrPath(db), addr, err, p.admin)
	}

	// A restart keeps the token, so scripts holding it keep working.
	if code, ok := p.signal(syscall.SIGTERM, 2*time.Second); !ok || code != 0 {
		t.Fatalf("serve did not stop cleanly: exit %d, exited %v", code, ok)
	}
	serve(t, db)
	if again, err := os.ReadFile(adminapi.TokenPath(db)); err != nil || string(again) != string(tok) {
		t.Errorf("token changed across a restart: %q, was %q (%v)", again, tok, err)
	}
}

// ---- 6. refusals ----

func TestE2EServeRefusals(t *testing.T) {
	db, _ := createZone(t)

	r := runWithin(t, 10*time.Second, "--db", db, "serve", "--listen", "127.0.0.1:0", "--admin", "0.0.0.0:0")
	if r.code == 0 || !strings.Contains(r.stderr, "loopback") {
		t.Errorf("serve --admin 0.0.0.0:0: want a non-zero exit saying loopback; %v", r)
	}
	if _, err := os.Stat(adminapi.AddrPath(db)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("refused serve left %s (%v)", adminapi.AddrPath(db), err)
	}

	p := serve(t, db)
	r = runWithin(t, 10*time.Second, "--db", db, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	if r.code == 0 || !strings.Contains(r.stderr, "another lbdns serve holds this database") {
		t.Errorf("second serve on the same database: want a non-zero exit saying another server holds it; %v", r)
	}
	// The first server is unharmed and still findable.
	if addr, err := os.ReadFile(adminapi.AddrPath(db)); err != nil || strings.TrimSpace(string(addr)) != p.admin {
		t.Errorf("after the second serve, %s = %q (%v), want %s", adminapi.AddrPath(db), addr, err, p.admin)
	}
	if d := p.dig(t, "example.com", "SOA"); d.status != "NOERROR" {
		t.Errorf("first server after the second serve failed: %v", d)
	}
	if r := mustRun(t, db, "zone", "show", "example.com"); !strings.Contains(r.stdout, "example.com.") {
		t.Errorf("zone show via the first server: %v", r)
	}
}

// ---- 7. demo ----

func TestE2EDemo(t *testing.T) {
	tmp := t.TempDir()
	p := startProc(t, []string{"TMPDIR=" + tmp}, "demo", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	var help string
	within(t, time.Now(), 5*time.Second, "demo help printed", func() (bool, string) {
		help = p.stdout.String()
		return strings.Contains(help, "Press Ctrl-C to stop."), help
	})

	// Run the dig commands it prints, as printed.
	var digs [][]string
	var edit string
	for l := range strings.Lines(help) {
		l, _, _ = strings.Cut(strings.TrimSpace(l), "#")
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "dig":
			digs = append(digs, f[1:])
		case len(f) > 2 && strings.HasPrefix(f[0], "LBDNS_DB=") && f[2] == "record":
			edit = l
		}
	}
	if len(digs) == 0 {
		t.Fatalf("demo printed no dig commands:\n%s", help)
	}
	seenWWW := false
	for _, args := range digs {
		if !slices.Contains(args, "@127.0.0.1") || !slices.Contains(args, p.port) {
			t.Errorf("printed dig %q does not point at the bound port %s", args, p.port)
		}
		d := digRaw(t, args...)
		if !d.hasFlag("aa") || d.hasFlag("ra") {
			t.Errorf("flags %v, want aa and no ra; %v", d.flags, d)
		}
		switch {
		case slices.Contains(args, "www.example.com"):
			seenWWW = true
			got := d.answers("A")
			slices.Sort(got)
			if d.status != "NOERROR" || !slices.Equal(got, []string{"192.0.2.10", "192.0.2.11"}) {
				t.Errorf("want A 192.0.2.10 and 192.0.2.11; %v", d)
			}
		case slices.Contains(args, "nope.example.com"):
			if d.status != "NXDOMAIN" {
				t.Errorf("want NXDOMAIN; %v", d)
			}
		default:
			if d.status != "NOERROR" || len(d.sections["ANSWER"]) == 0 {
				t.Errorf("printed example got no answer; %v", d)
			}
		}
	}
	t.Logf("ran %d printed dig commands", len(digs))
	if !seenWWW {
		t.Errorf("demo printed no dig for www.example.com:\n%s", help)
	}

	// The printed edit command is answered at once.
	f := strings.Fields(edit)
	if len(f) < 3 {
		t.Fatalf("demo printed no record add example:\n%s", help)
	}
	if _, err := exec.LookPath(f[1]); err != nil {
		t.Errorf("demo's record add example names %q, which does not run: %v", f[1], err)
	}
	cmd := lbdnsCommand(t.Context(), t, []string{f[0]}, f[2:]...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("printed example %q: %v\n%s", edit, err, out)
	}
	within(t, time.Now(), visibleWithin, "demo record add answered", func() (bool, string) {
		d := p.dig(t, "new.example.com", "A")
		return d.status == "NOERROR" && slices.Equal(d.answers("A"), []string{"192.0.2.99"}), d.String()
	})

	// Stopping it removes its scratch database.
	demoDB := strings.TrimPrefix(f[0], "LBDNS_DB=")
	if code, ok := p.signal(syscall.SIGINT, 2*time.Second); !ok || code != 0 {
		t.Fatalf("demo after Ctrl-C: exit %d, exited %v; stderr:\n%s", code, ok, p.stderr)
	}
	if _, err := os.Stat(demoDB); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("demo left its database %s behind (%v)", demoDB, err)
	}
}

// ---- 8. AXFR ----

// parseRRs reads master-file text (a zone export, or dig's AXFR output)
// into normalised record strings.
func parseRRs(t *testing.T, text string) []string {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	var out []string
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		out = append(out, rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parse %v:\n%s", err, text)
	}
	return out
}

func TestE2EAXFR(t *testing.T) {
	db := newDB(t) // example.com with www A, MX, TXT
	exported := parseRRs(t, mustRun(t, db, "zone", "export", "example.com").stdout)

	allowed := serve(t, db, "--allow-transfer", "127.0.0.1/32")
	d := allowed.dig(t, "example.com", "AXFR")
	rrs := parseRRs(t, d.out)
	if len(rrs) < 2 || !strings.Contains(rrs[0], "\tSOA\t") || rrs[0] != rrs[len(rrs)-1] {
		t.Fatalf("AXFR does not start and end with the same SOA; %v", d)
	}
	t.Logf("AXFR: %d records", len(rrs))
	got := slices.Sorted(slices.Values(rrs[:len(rrs)-1]))
	want := slices.Sorted(slices.Values(exported))
	if !slices.Equal(got, want) {
		t.Errorf("AXFR records:\n%s\nwant the zone's (zone export):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code, ok := allowed.signal(syscall.SIGTERM, 2*time.Second); !ok || code != 0 {
		t.Fatalf("stop: exit %d, exited %v", code, ok)
	}

	for _, flags := range [][]string{nil, {"--allow-transfer", "192.0.2.0/24"}} {
		p := serve(t, db, flags...)
		d := p.dig(t, "example.com", "AXFR")
		if !strings.Contains(d.out, "Transfer failed") || len(parseRRs(t, d.out)) != 0 {
			t.Errorf("serve %q: AXFR from 127.0.0.1 should fail; %v", flags, d)
		}
		m := new(dns.Msg)
		m.SetAxfr("example.com.")
		c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
		r, _, err := c.Exchange(m, p.dnsAddr)
		if err != nil || r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
			t.Errorf("serve %q: AXFR over TCP = %v, %v; want REFUSED with no records", flags, r, err)
		}
		if code, ok := p.signal(syscall.SIGTERM, 2*time.Second); !ok || code != 0 {
			t.Fatalf("stop: exit %d, exited %v", code, ok)
		}
	}
}

// ---- 9. graceful stop ----

func TestE2EGracefulStop(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			db, _ := createZone(t)
			p := serve(t, db)
			if d := p.dig(t, "example.com", "SOA"); d.status != "NOERROR" {
				t.Fatal(d)
			}
			if _, err := os.Stat(adminapi.AddrPath(db)); err != nil {
				t.Fatalf("no admin address file while serving: %v", err)
			}
			sent := time.Now()
			code, ok := p.signal(sig, 2*time.Second)
			if !ok {
				t.Fatalf("still running 2s after %v; stderr:\n%s", sig, p.stderr)
			}
			t.Logf("exited %v after %v", code, time.Since(sent).Round(time.Millisecond))
			if code != 0 {
				t.Errorf("exit status %d after %v, want 0; stderr:\n%s", code, sig, p.stderr)
			}
			if _, err := os.Stat(adminapi.AddrPath(db)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s still there after the server stopped (%v)", adminapi.AddrPath(db), err)
			}
			// The lock is released: the CLI opens the database itself.
			r := mustRun(t, db, "record", "add", "after.example.com", "A", "192.0.2.5")
			if !strings.HasPrefix(r.stdout, "added after.example.com.") {
				t.Errorf("record add after stop: %v", r)
			}
		})
	}
}

// TestE2EDirectorNeedsIPVS: serve --director on a kernel without IPVS
// exits with an error that says so, instead of trusting moby/ipvs's silent
// success there; on a kernel with IPVS it starts (the VM suite covers what
// it then does).
func TestE2EDirectorNeedsIPVS(t *testing.T) {
	db, _ := createZone(t)
	if err := ipvsbridge.ProbeKernel(); err == nil {
		p := serve(t, db, "--director", "fra")
		if d := p.dig(t, "example.com", "SOA"); d.status != "NOERROR" {
			t.Fatalf("serve --director on a kernel with IPVS does not answer: %v", d)
		}
		return
	}
	r := runWithin(t, 10*time.Second, "--db", db, "serve", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--director", "fra")
	if r.code == 0 || !strings.Contains(r.stderr, "no IPVS") {
		t.Fatalf("serve --director without IPVS: want a non-zero exit saying there is no IPVS; %v", r)
	}
	// Without --director the same host serves DNS.
	if d := serve(t, db).dig(t, "example.com", "SOA"); d.status != "NOERROR" {
		t.Fatalf("serve without --director: %v", d)
	}
}

//go:build vm

package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lbdnsBin is the lbdns binary the harness puts in the VM.
var lbdnsBin = func() string {
	if p := os.Getenv("LBDNS_VM_LBDNS"); p != "" {
		return p
	}
	return "/lbdns"
}()

// Health check settings of the health test's service.
const (
	hcInterval = 200 * time.Millisecond
	hcFall     = 2
	hcRise     = 2
	// hcMargin is what a health change may take beyond fall (or rise)
	// intervals under software emulation: the probe in flight, the
	// daemon's wake-up, the reconcile and its read-back.
	hcMargin = 2 * time.Second
)

// serveNet starts `lbdns serve --director lab` in n's director, serving
// the zone vm.example on the director's client-side address, with the
// service www.vm.example from services (a YAML file; %s are the VIP
// and the two real servers' addresses). It returns the server and its
// database.
func serveNet(t *testing.T, l *lab, dir string, n net4, services string) (*proc, string) {
	t.Helper()
	db := filepath.Join(dir, "lbdns.db")
	file := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(services, n.vip, n.real1, n.real2)), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, lbdnsBin, "--db", db, "zone", "create", "vm.example", "--ns", "ns1.vm.example="+n.dirAddr, "--email", "hostmaster@vm.example")
	run(t, lbdnsBin, "--db", db, "service", "apply", "-f", file)
	p := l.start("lbdns serve", n.dir, nil, "msg=serving", lbdnsBin, "--db", db, "serve",
		"--listen", n.dirAddr+":53", "--admin", "127.0.0.1:5380", "--director", "lab", "--ipvs-resync", "2s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lbdns serve output:\n%s", p.output())
		}
	})
	return p, db
}

// weights is the IPVS weight of each real server of key in the network
// namespace of p (lbdns serve in the director), -1 when absent, as
// "w1/w2", read from /proc (see procTable).
func weights(t *testing.T, p *proc, n net4, key string) string {
	w, _ := procTable(t, p.cmd.Process.Pid, key)
	get := func(real string) int {
		if v, ok := w[real+":8080"]; ok {
			return v
		}
		return -1
	}
	return fmt.Sprintf("%d/%d", get(n.real1), get(n.real2))
}

// agree checks that ipvsadm in the director shows the weights too.
func agree(t *testing.T, n net4, key, want string) {
	t.Helper()
	got := fmt.Sprintf("%d/%d", weightOf(t, n.dir, key, n.real1+":8080"), weightOf(t, n.dir, key, n.real2+":8080"))
	if got != want {
		t.Errorf("ipvsadm -Ln in the director shows weights %s, /proc/net/ip_vs %s", got, want)
	}
}

const healthServices = `services:
  - name: www.vm.example
    ttl: 5
    policy: all
    health: {kind: http, port: 8080, path: /, interval: 200ms, timeout: 1s, rise: 2, fall: 2}
    sites:
      - name: lab
        vips: [%s]
        director: {mode: nat, scheduler: wrr, port: 80, protocol: tcp}
        real_servers:
          - {address: %s, port: 8080, weight: 2}
          - {address: %s, port: 8080, weight: 1}
`

// TestServeHealth runs lbdns serve as a NAT director whose real servers
// are health checked over HTTP: a real server whose listener stops goes
// to weight 0 within fall intervals (and no request reaches it), and
// comes back when it listens again.
func TestServeHealth(t *testing.T) {
	requireIPVS(t)
	dir := t.TempDir()
	l := newLab(t, "hc")
	n := natNet(l, 4)
	l.httpd("rs1", n.rs1, ":8080")
	rs2 := l.httpd("rs2", n.rs2, ":8080")
	srv, _ := serveNet(t, l, dir, n, healthServices)
	key := "tcp/" + n.vip + ":80"
	url := "http://" + n.vip + "/"

	took := waitFor(t, 20*time.Second, "both real servers healthy in IPVS (weights 2/1)", func() (bool, string) {
		w := weights(t, srv, n, key)
		return w == "2/1", "weights " + w
	})
	t.Logf("both real servers up at weights 2/1 %s after serve started", took.Round(time.Millisecond))
	agree(t, n, key, "2/1")
	if c := l.fetch(n.client, url, 30); c["rs1"] == 0 || c["rs2"] == 0 {
		t.Fatalf("with both up, 30 requests were answered by %v; want both", c)
	}

	rs2.kill()
	took = waitFor(t, 10*time.Second, "rs2 at weight 0 after its listener stopped", func() (bool, string) {
		w := weights(t, srv, n, key)
		return w == "2/0", "weights " + w
	})
	bound := hcFall*hcInterval + hcMargin
	t.Logf("rs2 down: weight 0 %s after its listener stopped (fall %d x interval %s; bound %s)",
		took.Round(time.Millisecond), hcFall, hcInterval, bound)
	if took > bound {
		t.Errorf("rs2 went to weight 0 after %s, want within %s", took, bound)
	}
	agree(t, n, key, "2/0")
	if c := l.fetch(n.client, url, 20); c["rs1"] != 20 {
		t.Fatalf("with rs2 down, 20 requests were answered by %v; want all by rs1", c)
	}

	l.httpd("rs2", n.rs2, ":8080")
	took = waitFor(t, 10*time.Second, "rs2 back at weight 1 after it listens again", func() (bool, string) {
		w := weights(t, srv, n, key)
		return w == "2/1", "weights " + w
	})
	bound = hcRise*hcInterval + hcMargin
	t.Logf("rs2 up: weight 1 %s after it listened again (rise %d x interval %s; bound %s)",
		took.Round(time.Millisecond), hcRise, hcInterval, bound)
	if took > bound {
		t.Errorf("rs2 came back after %s, want within %s", took, bound)
	}
	agree(t, n, key, "2/1")
	if c := l.fetch(n.client, url, 30); c["rs2"] == 0 || c["rs1"] == 0 {
		t.Fatalf("with rs2 back, 30 requests were answered by %v; want both", c)
	}
	var health []string
	for line := range strings.Lines(srv.output()) {
		if strings.Contains(line, "health: target") {
			health = append(health, strings.TrimSpace(line))
		}
	}
	t.Logf("lbdns health transitions:\n  %s", strings.Join(health, "\n  "))
}

const e2eServices = `services:
  - name: www.vm.example
    ttl: 5
    policy: all
    sites:
      - name: lab
        vips: [%s]
        director: {mode: nat, scheduler: rr, port: 80, protocol: tcp}
        real_servers:
          - {address: %s, port: 8080}
          - {address: %s, port: 8080}
`

// TestServeEndToEnd is the whole path: lbdns serve programs the director
// and answers the service's name with the site's VIP; the client resolves
// it with dig and fetches through the VIP with busybox wget.
func TestServeEndToEnd(t *testing.T) {
	requireIPVS(t)
	dir := t.TempDir()
	l := newLab(t, "e2e")
	n := natNet(l, 5)
	l.httpd("rs1", n.rs1, ":8080")
	l.httpd("rs2", n.rs2, ":8080")
	srv, db := serveNet(t, l, dir, n, e2eServices)
	key := "tcp/" + n.vip + ":80"
	waitFor(t, 20*time.Second, "service programmed (weights 1/1)", func() (bool, string) {
		w := weights(t, srv, n, key)
		return w == "1/1", "weights " + w
	})
	agree(t, n, key, "1/1")

	var answer string
	waitFor(t, 10*time.Second, "dig answers www.vm.example with the VIP", func() (bool, string) {
		out, err := tryRun(nil, inNS(n.client, "dig", "@"+n.dirAddr, "+norec", "+short", "+time=2", "+tries=1",
			"www.vm.example", "A")...)
		answer = strings.TrimSpace(out)
		if err != nil {
			return false, err.Error()
		}
		return answer == n.vip, "answer " + answer
	})
	t.Logf("dig @%s www.vm.example A (from the client): %s", n.dirAddr, answer)

	seen := map[string]int{}
	for range 4 {
		body := run(t, inNS(n.client, "wget", "-q", "-O", "-", "http://"+answer+"/")...)
		seen[strings.TrimSpace(body)]++
	}
	t.Logf("wget http://%s/ four times (from the client): %v", answer, seen)
	if seen["rs1"] != 2 || seen["rs2"] != 2 {
		t.Errorf("rr over two real servers answered %v, want rs1 and rs2 twice each", seen)
	}

	status := run(t, inNS(n.dir, lbdnsBin, "--db", db, "ipvs", "status")...)
	owned := false
	for line := range strings.Lines(status) {
		f := strings.Fields(line)
		owned = owned || (len(f) > 1 && f[0] == key && f[len(f)-1] == "lbdns")
	}
	if !owned {
		t.Errorf("lbdns ipvs status in the director does not show %s owned by lbdns:\n%s", key, status)
	}
	t.Logf("lbdns ipvs status:\n%s", status)
	if out, err := tryRun(nil, inNS(n.dir, lbdnsBin, "ipvs", "doctor", "--mode", "nat")...); err != nil {
		t.Errorf("lbdns ipvs doctor --mode nat in a forwarding director: %v", err)
	} else {
		t.Logf("lbdns ipvs doctor --mode nat:\n%s", out)
	}
	if plan := run(t, inNS(n.dir, lbdnsBin, "--db", db, "ipvs", "plan")...); !strings.Contains(plan, "nothing to change") {
		t.Errorf("lbdns ipvs plan (through the running server) in a steady state:\n%s", plan)
	}

	// A restart retires what an earlier run created. Stopping the server
	// leaves the table alone (traffic keeps flowing); the service is
	// deleted from the database meanwhile; the new server drains it, and
	// deletes it once the drain timeout passes (the closed connections
	// linger in the kernel for minutes).
	srv.stop()
	agree(t, n, key, "1/1")
	run(t, lbdnsBin, "--db", db, "service", "delete", "www.vm.example")
	srv = l.start("lbdns serve, restarted", n.dir, nil, "msg=serving", lbdnsBin, "--db", db, "serve",
		"--listen", n.dirAddr+":53", "--admin", "127.0.0.1:5380", "--director", "lab",
		"--ipvs-resync", "1s", "--drain-timeout", "2s")
	took := waitFor(t, 20*time.Second, "the restarted server deletes the withdrawn service", func() (bool, string) {
		_, present := procTable(t, srv.cmd.Process.Pid, key)
		return !present, "still there"
	})
	t.Logf("withdrawn service deleted %s after the restart (drain timeout 2s, resync 1s)", took.Round(time.Millisecond))
	// The log line comes just after the kernel change.
	var ipvsLog []string
	waitFor(t, 5*time.Second, "lbdns logs drain-real, then delete-service at the drain timeout", func() (bool, string) {
		ipvsLog = ipvsLog[:0]
		for line := range strings.Lines(srv.output()) {
			if strings.Contains(line, "msg=\"ipvs:") {
				ipvsLog = append(ipvsLog, strings.TrimSpace(line))
			}
		}
		log := strings.Join(ipvsLog, "\n")
		drain, del := strings.Index(log, "drain-real"), strings.Index(log, "delete-service")
		return drain >= 0 && del > drain && strings.Contains(log[del:], "drain timeout"), log
	})
	t.Logf("restarted lbdns:\n  %s", strings.Join(ipvsLog, "\n  "))
	// The list of owned services must not keep the deleted one: a later
	// run would take a service someone else then creates there for its own.
	waitFor(t, 5*time.Second, "the deleted service leaves "+db+".ipvs", func() (bool, string) {
		b, err := os.ReadFile(db + ".ipvs")
		return err == nil && !strings.Contains(string(b), key), string(b)
	})
}

//go:build vm

package vmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbdns/lbdns/ipvsbridge"
)

// self is the test binary, re-run as a helper inside namespaces.
var self = func() string {
	p, err := os.Executable()
	if err != nil {
		return "/vmtests"
	}
	return p
}()

// requireIPVS fails the test (never skips it) when the kernel has no IPVS.
func requireIPVS(t *testing.T) {
	t.Helper()
	if err := ipvsbridge.ProbeKernel(); err != nil {
		t.Fatalf("IPVS is not usable in this kernel, so nothing here can be tested: %v", err)
	}
}

// run runs a command and returns its standard output; it fails the test,
// with the command's output, if the command fails.
func run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := tryRun(nil, args...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return out
}

// tryRun runs a command with extra environment and returns its standard
// output, or an error holding its standard error.
func tryRun(env []string, args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.String(), fmt.Errorf("%v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		}
		return stdout.String(), nil
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		return stdout.String(), fmt.Errorf("timed out after 60s\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
}

// inNS is the command line that runs args in network namespace ns.
// Busybox's nsenter (static) only switches the network namespace and
// execs; `ip netns exec` would do the same and remount /sys, but
// iproute2's ip takes about 200ms to start under emulation.
func inNS(ns string, args ...string) []string {
	if ns == "" {
		return args
	}
	return append([]string{"nsenter", "--net=/run/netns/" + ns}, args...)
}

// lab is a set of network namespaces (and root-namespace links joining
// them) that one test builds; its cleanup stops the processes it started
// and removes it all.
type lab struct {
	t      *testing.T
	prefix string
	nss    []string
	links  []string // in the VM's own namespace
	procs  []*proc
	last   time.Time
}

func newLab(t *testing.T, prefix string) *lab {
	l := &lab{t: t, prefix: prefix, last: time.Now()}
	t.Cleanup(l.cleanup)
	return l
}

func (l *lab) cleanup() {
	for _, p := range slices.Backward(l.procs) {
		p.stop()
	}
	// Deleting a namespace deletes its links, and with them the veth
	// peers in the VM's own namespace.
	var cmds []string
	for _, ns := range l.nss {
		cmds = append(cmds, "netns del "+ns)
	}
	for _, dev := range l.links {
		cmds = append(cmds, "link del "+dev)
	}
	if len(cmds) == 0 {
		return
	}
	cmd := exec.Command("ip", "-force", "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Logf("cleanup: %v\n%s", err, out)
	}
}

// mark logs how long the test took since the last mark (emulation is
// slow: this shows where the time goes).
func (l *lab) mark(what string) {
	l.t.Helper()
	now := time.Now()
	l.t.Logf("timing: %s in %s", what, now.Sub(l.last).Round(time.Millisecond))
	l.last = now
}

// netns creates the namespaces PREFIX-short for each short name and
// returns their names. Their lo is down until set up.
func (l *lab) netns(short ...string) []string {
	l.t.Helper()
	var names, add []string
	for _, s := range short {
		name := l.prefix + "-" + s
		names = append(names, name)
		add = append(add, "netns add "+name)
	}
	ipBatch(l.t, "", add...)
	l.nss = append(l.nss, names...)
	return names
}

// ipBatch runs `ip -batch` in ns ("" for the VM's own namespace): one
// process for many commands, which matters under emulation.
func ipBatch(t testing.TB, ns string, lines ...string) {
	t.Helper()
	args := []string{"ip"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	cmd := exec.Command(args[0], append(args[1:], "-batch", "-")...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %q -batch: %v\n%s\ncommands:\n  %s", ns, err, out, strings.Join(lines, "\n  "))
	}
}

// sysctl sets net sysctls (a.b.c=v) inside ns.
func (l *lab) sysctl(ns string, kv ...string) {
	l.t.Helper()
	var sh []string
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		sh = append(sh, fmt.Sprintf("echo %s > /proc/sys/%s", v, strings.ReplaceAll(k, ".", "/")))
	}
	run(l.t, inNS(ns, "sh", "-e", "-c", strings.Join(sh, "; "))...)
}

// proc is a background process inside a namespace.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	out bytes.Buffer // stdout and stderr
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill stops p at once, as a crash would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// start runs args inside ns (nsenter execs it, so the process is the
// command itself) and waits until a line of its output contains
// ready.
func (l *lab) start(name, ns string, env []string, ready string, args ...string) *proc {
	l.t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	in := inNS(ns, args...)
	p.cmd = exec.Command(in[0], in[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("start %s: %v", name, err)
	}
	l.procs = append(l.procs, p)
	readyc := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		once := sync.OnceFunc(func() { close(readyc) })
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if strings.Contains(sc.Text(), ready) {
				once()
			}
		}
		io.Copy(io.Discard, r) // after an overlong line: never block the process
	}()
	go func() {
		p.cmd.Wait()
		w.Close()
		close(p.done)
	}()
	select {
	case <-readyc:
	case <-p.done:
		l.t.Fatalf("%s exited before it was ready: %v\n%s", name, p.cmd.ProcessState, p.output())
	case <-time.After(20 * time.Second):
		l.t.Fatalf("%s not ready (no %q) after 20s:\n%s", name, ready, p.output())
	}
	return p
}

// httpd starts the naming HTTP server in ns on listen.
func (l *lab) httpd(name, ns, listen string) *proc {
	l.t.Helper()
	return l.start(name, ns, []string{envHelper + "=httpd", envName + "=" + name, envListen + "=" + listen}, "READY", self)
}

// fetch GETs url n times from ns, one connection each, and returns who
// answered how often. It fails the test on any error.
func (l *lab) fetch(ns, url string, n int) map[string]int {
	l.t.Helper()
	out, err := tryRun([]string{envHelper + "=fetch", envURL + "=" + url, envCount + "=" + strconv.Itoa(n)},
		inNS(ns, self)...)
	if err != nil {
		l.t.Fatalf("fetch %s from %s: %v", url, ns, err)
	}
	var res fetchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		l.t.Fatalf("fetch %s from %s: %v in %q", url, ns, err, out)
	}
	if len(res.Errors) > 0 {
		l.t.Fatalf("fetch %s from %s: %d of %d requests failed (answers %v); first error: %s",
			url, ns, len(res.Errors), n, res.Counts, res.Errors[0])
	}
	return res.Counts
}

// reconcile programs ns's IPVS table with ipvsbridge's reconciler (run in
// ns by the helper) and returns the plan's action kinds.
func (l *lab) reconcile(ns string, desired []ipvsbridge.Service) []string {
	l.t.Helper()
	return planKinds(l.reconcileSteps(ns, 0, reconcileStep{Desired: desired})[0].Plan)
}

// reconcileSteps runs the steps in ns with one reconciler whose drain
// timeout is drain (0: the default), and returns their results.
func (l *lab) reconcileSteps(ns string, drain time.Duration, steps ...reconcileStep) []reconcileResult {
	l.t.Helper()
	b, _ := json.Marshal(steps)
	env := []string{envHelper + "=reconcile", envSteps + "=" + string(b)}
	if drain > 0 {
		env = append(env, envDrainTimeout+"="+drain.String())
	}
	out, err := tryRun(env, inNS(ns, self)...)
	if err != nil {
		l.t.Fatalf("reconcile in %s: %v", ns, err)
	}
	var res []reconcileResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != len(steps) {
		l.t.Fatalf("reconcile in %s: %v: %d results for %d steps in %q", ns, err, len(res), len(steps), out)
	}
	return res
}

// planKinds renders a plan as "kind service [real weight forward]" lines.
func planKinds(p ipvsbridge.Plan) []string {
	out := []string{}
	for _, a := range p {
		s := string(a.Kind) + " " + a.Service.Key()
		if a.Real != nil {
			s += fmt.Sprintf(" %s w%d %s", a.Real.Key(), a.Real.Weight, a.Real.Forward)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func wantPlan(t *testing.T, step string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: plan\n  %s\nwant\n  %s", step, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// ---- ipvsadm ----

// ipvsadm runs ipvsadm in ns ("" for the VM's own namespace).
func ipvsadm(t testing.TB, ns string, args ...string) string {
	t.Helper()
	return run(t, inNS(ns, append([]string{"ipvsadm"}, args...)...)...)
}

var forwardNames = map[string]string{"Masq": "nat", "Route": "dr", "Tunnel": "tun"}

// parseIPVSADM parses `ipvsadm -Ln` into the port's shape:
//
//	IP Virtual Server version 1.2.1 (size=4096)
//	Prot LocalAddress:Port Scheduler Flags
//	  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
//	TCP  10.98.0.10:80 wlc persistent 300
//	  -> 10.99.0.11:8080              Masq    5      0          0
func parseIPVSADM(t testing.TB, text string) []ipvsbridge.Service {
	t.Helper()
	var out []ipvsbridge.Service
	fwm := false // in a firewall-mark service, which the port skips too
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "IP Virtual Server") || f[0] == "Prot" || (f[0] == "->" && f[1] == "RemoteAddress:Port"):
		case f[0] == "FWM":
			fwm = true
		case f[0] == "->" && fwm:
		case f[0] == "TCP" || f[0] == "UDP" || f[0] == "SCTP":
			fwm = false
			ap, err := netip.ParseAddrPort(f[1])
			if err != nil || len(f) < 3 {
				t.Fatalf("ipvsadm: cannot parse service line %q", line)
			}
			s := ipvsbridge.Service{VirtualService: ipvsbridge.VirtualService{
				Addr: ap.Addr(), Port: ap.Port(), Protocol: strings.ToLower(f[0]), Scheduler: f[2]}}
			for i := 3; i+1 < len(f); i++ {
				if f[i] == "persistent" {
					n, err := strconv.ParseUint(f[i+1], 10, 32)
					if err != nil {
						t.Fatalf("ipvsadm: persistence in %q", line)
					}
					s.Persistence = uint32(n)
				}
			}
			out = append(out, s)
		case f[0] == "->" && len(f) == 6 && len(out) > 0:
			ap, err := netip.ParseAddrPort(f[1])
			if err != nil {
				t.Fatalf("ipvsadm: cannot parse real server line %q", line)
			}
			fwd, ok := forwardNames[f[2]]
			if !ok {
				fwd = f[2]
			}
			n := make([]int, 3)
			for i := range n {
				if n[i], err = strconv.Atoi(f[3+i]); err != nil {
					t.Fatalf("ipvsadm: cannot parse real server line %q", line)
				}
			}
			s := &out[len(out)-1]
			s.Reals = append(s.Reals, ipvsbridge.RealServer{Addr: ap.Addr(), Port: ap.Port(), Forward: fwd,
				Weight: n[0], ActiveConns: n[1], InactiveConns: n[2]})
		default:
			t.Fatalf("ipvsadm: unexpected line %q in\n%s", line, text)
		}
	}
	sortTable(out)
	return out
}

// procTable reads the weights of the real servers of service key, and
// whether the service is there, from /proc/PID/net/ip_vs: the kernel's
// own listing for the network namespace of process pid. There is no
// process to start, so a poll costs next to nothing even under emulation.
// Addresses there are hex: 0A046410:0050.
func procTable(t testing.TB, pid int, key string) (map[string]int, bool) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/ip_vs", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	in, present := false, false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && (f[0] == "TCP" || f[0] == "UDP" || f[0] == "SCTP" || f[0] == "FWM"):
			in = strings.ToLower(f[0])+"/"+hexAddrPort(t, f[1]) == key
			present = present || in
		case in && len(f) == 6 && f[0] == "->":
			w, err := strconv.Atoi(f[3])
			if err != nil {
				t.Fatalf("/proc/net/ip_vs: %q", line)
			}
			out[hexAddrPort(t, f[1])] = w
		}
	}
	return out, present
}

// hexAddrPort turns /proc/net/ip_vs's 0A046410:0050 into 10.4.100.16:80.
func hexAddrPort(t testing.TB, s string) string {
	t.Helper()
	a, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	if !ok || len(a) != 8 || err != nil {
		return s // IPv6 ([...]:port) is not used here
	}
	v, err := strconv.ParseUint(a, 16, 32)
	if err != nil {
		t.Fatalf("/proc/net/ip_vs: address %q", s)
	}
	addr := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return netip.AddrPortFrom(addr, uint16(port)).String()
}

// ipvsTable is ns's table as ipvsadm shows it, with connection counts.
func ipvsTable(t testing.TB, ns string) []ipvsbridge.Service {
	t.Helper()
	return parseIPVSADM(t, ipvsadm(t, ns, "-Ln"))
}

// normalize sorts services and reals and drops connection counts.
func normalize(svcs []ipvsbridge.Service) []ipvsbridge.Service {
	out := []ipvsbridge.Service{}
	for _, s := range svcs {
		c := s
		c.Reals = nil
		for _, r := range s.Reals {
			r.ActiveConns, r.InactiveConns = 0, 0
			c.Reals = append(c.Reals, r)
		}
		slices.SortFunc(c.Reals, func(a, b ipvsbridge.RealServer) int { return strings.Compare(a.Key(), b.Key()) })
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b ipvsbridge.Service) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// sortTable sorts services and their reals by key.
func sortTable(svcs []ipvsbridge.Service) {
	for _, s := range svcs {
		slices.SortFunc(s.Reals, func(a, b ipvsbridge.RealServer) int { return strings.Compare(a.Key(), b.Key()) })
	}
	slices.SortFunc(svcs, func(a, b ipvsbridge.Service) int { return strings.Compare(a.Key(), b.Key()) })
}

func dumpTable(svcs []ipvsbridge.Service) string {
	var b strings.Builder
	for _, s := range svcs {
		fmt.Fprintf(&b, "  %s %s persistence %d\n", s.Key(), s.Scheduler, s.Persistence)
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "    -> %s %s weight %d\n", r.Key(), r.Forward, r.Weight)
		}
	}
	if len(svcs) == 0 {
		b.WriteString("  (empty)\n")
	}
	return b.String()
}

// sameTable compares tables, ignoring order and connection counts.
func sameTable(a, b []ipvsbridge.Service) bool {
	return reflect.DeepEqual(normalize(a), normalize(b))
}

// stats is one line of `ipvsadm -Ln --stats --exact`.
type stats struct{ conns, inPkts, outPkts uint64 }

// serviceStats reads the counters of the service key (proto/addr:port) in ns.
func serviceStats(t testing.TB, ns, key string) stats {
	t.Helper()
	text := ipvsadm(t, ns, "-Ln", "--stats", "--exact")
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 6 || strings.ToLower(f[0])+"/"+f[1] != key {
			continue
		}
		var n [3]uint64
		for i := range n {
			v, err := strconv.ParseUint(f[2+i], 10, 64)
			if err != nil {
				t.Fatalf("ipvsadm --stats: cannot parse %q", line)
			}
			n[i] = v
		}
		return stats{n[0], n[1], n[2]}
	}
	t.Fatalf("ipvsadm --stats shows no %s:\n%s", key, text)
	return stats{}
}

// weightOf is the weight ipvsadm shows for real in service key of ns,
// or -1 when the real server is not there.
func weightOf(t testing.TB, ns, key, real string) int {
	t.Helper()
	for _, s := range ipvsTable(t, ns) {
		if s.Key() != key {
			continue
		}
		for _, r := range s.Reals {
			if r.Key() == real {
				return r.Weight
			}
		}
	}
	return -1
}

// waitFor polls check until it holds or d passes; it returns how long it
// took, failing the test on timeout.
func waitFor(t *testing.T, d time.Duration, what string, check func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, last := check()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s; last: %s", what, d, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustParse(s string) netip.Addr { return netip.MustParseAddr(s) }

// svc builds a desired service; reals are "addr:port/weight/forward".
func svc(proto, vip string, port uint16, sched string, reals ...string) ipvsbridge.Service {
	s := ipvsbridge.Service{VirtualService: ipvsbridge.VirtualService{Addr: mustParse(vip), Port: port, Protocol: proto, Scheduler: sched}}
	for _, r := range reals {
		parts := strings.Split(r, "/")
		ap := netip.MustParseAddrPort(parts[0])
		w, _ := strconv.Atoi(parts[1])
		s.Reals = append(s.Reals, ipvsbridge.RealServer{Addr: ap.Addr(), Port: ap.Port(), Weight: w, Forward: parts[2]})
	}
	return s
}

// tlog adapts t.Log to an io.Writer (for slog).
type tlog struct{ t *testing.T }

func (w tlog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

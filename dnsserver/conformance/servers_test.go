package conformance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// zoneFile is one zone of the corpus: its origin and its master file.
type zoneFile struct {
	origin string // fully qualified, lower case
	path   string // absolute
}

// testZones returns the zones both servers serve.
func testZones(t *testing.T) []zoneFile {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "conformance"))
	if err != nil {
		t.Fatal(err)
	}
	return []zoneFile{
		{"example.com.", filepath.Join(dir, "example.com.zone")},
		{"sub.example.com.", filepath.Join(dir, "sub.example.com.zone")},
	}
}

// server is a DNS server process this test started.
type server struct {
	name    string
	addr    string // host:port, UDP and TCP
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid once done is closed
}

// start runs cmd in its own process group with output to logPath and
// registers a cleanup that stops it.
func start(t *testing.T, name, addr, logPath string, cmd *exec.Cmd) *server {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s := &server{name: name, addr: addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM to the process this test started, waits for it, and
// kills it (and any children left in its process group) if it hangs.
func (s *server) stop(t *testing.T) {
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-s.done:
		if s.waitErr != nil {
			t.Logf("%s exited after SIGTERM: %v", s.name, s.waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not exit within 10s of SIGTERM; killing it; log:\n%s", s.name, s.logTail())
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-s.done
	}
	// NSD forks server and xfrd children; they normally exit with it.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// logTail returns the end of the server's log for failure messages.
func (s *server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// waitReady polls the server with an SOA query over UDP and TCP until both
// answer, failing the test if the process exits or time runs out.
func (s *server) waitReady(t *testing.T, zone string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			t.Fatalf("%s exited before answering (%v); log:\n%s", s.name, s.waitErr, s.logTail())
		default:
		}
		lastErr = nil
		for _, network := range []string{"udp", "tcp"} {
			m := new(dns.Msg)
			m.SetQuestion(zone, dns.TypeSOA)
			c := &dns.Client{Net: network, Timeout: 500 * time.Millisecond}
			r, _, err := c.Exchange(m, s.addr)
			if err == nil && (r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0) {
				err = fmt.Errorf("rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
			}
			if err != nil {
				lastErr = fmt.Errorf("%s: %w", network, err)
				break
			}
		}
		if lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s does not answer on %s: %v; log:\n%s", s.name, s.addr, lastErr, s.logTail())
}

// freePort returns a loopback port that is free for both UDP and TCP.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return 0
}

// findNSD locates the nsd binary; Debian installs it in /usr/sbin, which is
// not always on PATH.
func findNSD() (string, error) {
	if p, err := exec.LookPath("nsd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nsd", "/usr/local/sbin/nsd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("nsd not found")
}

// startNSD serves zones from NSD on a free loopback port: minimal responses
// (additional data only on referrals), no rate limiting, AXFR to 127.0.0.1.
func startNSD(t *testing.T, zones []zoneFile) *server {
	t.Helper()
	bin, err := findNSD()
	if err != nil {
		t.Fatalf("%v: this test needs NSD (Debian package nsd); `make test` installs it", err)
	}
	dir := t.TempDir()
	port := freePort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    ip-address: 127.0.0.1@%[1]d
    port: %[1]d
    username: ""
    chroot: ""
    zonesdir: %[2]q
    database: ""
    pidfile: %[3]q
    xfrdfile: %[4]q
    zonelistfile: %[5]q
    server-count: 1
    verbosity: 1
    minimal-responses: yes
    rrl-ratelimit: 0
remote-control:
    control-enable: no
`, port, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), filepath.Join(dir, "zone.list"))
	for _, z := range zones {
		fmt.Fprintf(&conf, "zone:\n    name: %q\n    zonefile: %q\n    provide-xfr: 127.0.0.1 NOKEY\n", z.origin, z.path)
	}
	confPath := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := start(t, "nsd", addr, filepath.Join(dir, "nsd.log"), exec.Command(bin, "-d", "-c", confPath))
	s.waitReady(t, zones[0].origin)
	return s
}

// startLBDNS imports zones into a fresh database and serves it with
// `lbdns serve` on a free loopback port.
func startLBDNS(t *testing.T, zones []zoneFile) *server {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "lbdns.db")
	for _, z := range zones {
		cmd := exec.Command(lbdnsBin, "--db", db, "zone", "import", strings.TrimSuffix(z.origin, "."), z.path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
		}
	}
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(lbdnsBin, "--db", db, "serve",
		"--listen", addr, "--admin", "127.0.0.1:0", "--allow-transfer", "127.0.0.1/32")
	s := start(t, "lbdns", addr, filepath.Join(dir, "lbdns.log"), cmd)
	s.waitReady(t, zones[0].origin)
	return s
}

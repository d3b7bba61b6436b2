package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// server is a DNS server under test: the process and where it answers.
type server struct {
	*proc
	addr string // 127.0.0.1:port, UDP and TCP
}

// freePort returns a loopback port free for both UDP and TCP.
func freePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port, nil
	}
	return 0, errors.New("no loopback port free for both UDP and TCP")
}

// findNSD locates nsd; Debian puts it in /usr/sbin, which a non-root PATH
// often lacks.
func findNSD() (string, error) {
	if p, err := exec.LookPath("nsd"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nsd", "/usr/local/sbin/nsd"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("nsd not found (Debian package nsd; `make bench` installs it)")
}

// nsdConfig is the reference setup from the team's notes: one server
// process, minimal responses, and response rate limiting off, without
// which NSD would measure its limiter (about 2k QPS per /24), not itself.
const nsdConfig = `server:
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
zone:
    name: %[6]q
    zonefile: %[7]q
`

// startNSD serves the bench zone with NSD, run under the pin prefix.
func startNSD(ctx context.Context, ps *procSet, f benchFiles, pin []string) (*server, error) {
	bin, err := findNSD()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(f.dir, "nsd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(nsdConfig, port, dir, filepath.Join(dir, "nsd.pid"),
		filepath.Join(dir, "xfrd.state"), filepath.Join(dir, "zone.list"), benchOrigin, f.zone)
	confPath := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := ps.start("nsd", filepath.Join(dir, "nsd.log"), append(pin, bin, "-d", "-c", confPath)...)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	return s, s.waitReady(ctx)
}

// startLBDNS serves the prepared database with the GeoIP file, under the
// pin prefix, with the admin API on an ephemeral loopback port.
func startLBDNS(ctx context.Context, ps *procSet, lb lbdnsCLI, geoip string, pin []string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p, err := ps.start("lbdns", filepath.Join(filepath.Dir(lb.db), "lbdns.log"), append(pin, lb.bin, "--db", lb.db, "serve",
		"--listen", addr, "--admin", "127.0.0.1:0", "--geoip", geoip, "--log-level", "warn")...)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, addr: addr}
	return s, s.waitReady(ctx)
}

// waitReady polls the server with an SOA query until it answers, for at
// most 30 seconds, failing early if the process exits.
func (s *server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for {
		if s.exited() {
			return fmt.Errorf("%s exited before answering (%v); log:\n%s", s.name, s.waitErr, s.logTail())
		}
		if _, lastErr = s.soaSerial(); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer on %s: %v; log:\n%s", s.name, s.addr, lastErr, s.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// soaSerial asks the server for the bench zone's SOA serial over UDP.
func (s *server) soaSerial() (uint32, error) {
	r, err := s.exchange(query{name: benchOrigin, qtype: dns.TypeSOA})
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("no SOA in the answer (rcode %s)", dns.RcodeToString[r.Rcode])
}

// exchange sends q as the query files do and returns the reply.
func (s *server) exchange(q query) (*dns.Msg, error) {
	b, err := packQuery(q)
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return nil, err
	}
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	r, _, err := c.Exchange(m, s.addr)
	return r, err
}

package healthcheck

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

func intp(v int) *int { return &v }

// stored validates svc (filling defaults as the store does) and wraps it
// as the server reads it, with the given site admin states.
func stored(t testing.TB, svc zones.Service, admin map[string]string) zones.StoredService {
	t.Helper()
	if err := zones.ValidateService(&svc); err != nil {
		t.Fatalf("ValidateService(%s): %v", svc.Name, err)
	}
	return zones.StoredService{Service: svc, Zone: "lb.example.com.", Admin: admin}
}

// rs is a real server on addr:port with a weight.
func rs(ap netip.AddrPort, weight int) zones.RealServer {
	return zones.RealServer{Address: ap.Addr().String(), Port: int(ap.Port()), Weight: intp(weight)}
}

// fast is a health block that probes every 50ms with the given rise/fall.
func fast(kind string, rise, fall int) *zones.Health {
	return &zones.Health{Kind: kind, Interval: "50ms", Timeout: "5s", Rise: rise, Fall: fall}
}

// newTestChecker is a quiet checker closed when the test ends.
func newTestChecker(t testing.TB, concurrency int) *Checker {
	t.Helper()
	c := New(slog.New(slog.DiscardHandler), concurrency)
	t.Cleanup(c.Close)
	return c
}

func mustApply(t testing.TB, c *Checker, svcs ...zones.StoredService) {
	t.Helper()
	if err := c.Apply(svcs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// state is a copy of a target's hysteresis state, read under the lock.
func state(c *Checker, key string) (targetState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.runners[key]
	if r == nil {
		return targetState{}, false
	}
	return r.st, true
}

func runnerFor(c *Checker, key string) *runner {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runners[key]
}

// key is the Key of a real-server target.
func key(service, site string, server netip.AddrPort) string {
	return Target{Service: service, Site: site, Server: server}.Key()
}

// waitFor polls cond every 5ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+format, append([]any{d}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitProbes waits until every key has been probed at least n times.
func waitProbes(t testing.TB, c *Checker, n uint64, keys ...string) {
	t.Helper()
	for _, k := range keys {
		waitFor(t, 5*time.Second, func() bool {
			st, ok := state(c, k)
			return ok && st.probes >= n
		}, "%s not probed %d times", k, n)
	}
}

// tcpServer is a loopback listener that accepts and closes connections,
// counting them.
type tcpServer struct {
	ln      net.Listener
	ap      netip.AddrPort
	accepts atomic.Int64
	once    sync.Once
	done    chan struct{}
}

// startTCP listens on host:0 (any 127.0.0.0/8 address works on Linux).
func startTCP(t testing.TB, host string) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &tcpServer{ln: ln, ap: ln.Addr().(*net.TCPAddr).AddrPort(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *tcpServer) Close() {
	s.once.Do(func() { s.ln.Close(); <-s.done })
}

// closedPort is an address on which nothing listens: connections are refused.
func closedPort(t testing.TB) netip.AddrPort {
	t.Helper()
	s := startTCP(t, "127.0.0.1")
	s.Close()
	return s.ap
}

// httpServer starts an HTTP test server with a quiet error log.
func httpServer(t testing.TB, h http.Handler) (*httptest.Server, netip.AddrPort) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().(*net.TCPAddr).AddrPort()
}

// selfSigned is a self-signed certificate for 127.0.0.1 (IP SAN) and
// dnsName (DNS SAN), made fresh for the test.
func selfSigned(t testing.TB, dnsName string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: dnsName},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{dnsName},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// httpsServer serves h over TLS with cert and records the SNI of every
// handshake.
type httpsServer struct {
	ap  netip.AddrPort
	mu  sync.Mutex
	sni []string
}

func startHTTPS(t testing.TB, cert tls.Certificate, h http.Handler) *httpsServer {
	t.Helper()
	s := &httpsServer{}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			s.sni = append(s.sni, hello.ServerName)
			s.mu.Unlock()
			return nil, nil
		},
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.ap = srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	return s
}

func (s *httpsServer) lastSNI() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sni) == 0 {
		return "", false
	}
	return s.sni[len(s.sni)-1], true
}

// startDNS serves on UDP loopback: ok.test. has an A and an AAAA record,
// empty.test. is NOERROR without answers, anything else is NXDOMAIN.
func startDNS(t testing.TB) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		switch name := q.Question[0].Name; name {
		case "ok.test.":
			switch q.Question[0].Qtype {
			case dns.TypeA:
				rr, _ := dns.NewRR("ok.test. 60 IN A 192.0.2.1")
				m.Answer = append(m.Answer, rr)
			case dns.TypeAAAA:
				rr, _ := dns.NewRR("ok.test. 60 IN AAAA 2001:db8::1")
				m.Answer = append(m.Answer, rr)
			}
		case "empty.test.":
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// onlyTarget returns the single target of a service, failing otherwise.
func onlyTarget(t testing.TB, ss zones.StoredService) Target {
	t.Helper()
	ts, err := Targets(ss)
	if err != nil {
		t.Fatalf("Targets: %v", err)
	}
	if len(ts) != 1 {
		t.Fatalf("Targets: got %d targets, want 1", len(ts))
	}
	return ts[0]
}

// probeOnce builds the target a one-server service with health h would
// probe at ap and runs its probe once, with the spec's timeout.
func probeOnce(t testing.TB, ap netip.AddrPort, h *zones.Health) error {
	t.Helper()
	tg := onlyTarget(t, stored(t, oneServer("p.lb.example.com", ap, h), nil))
	return runProbe(tg)
}

func runProbe(tg Target) error {
	ctx, cancel := context.WithTimeout(context.Background(), tg.Spec.Timeout)
	defer cancel()
	return proberFor(tg.Spec)(ctx, &tg)
}

// oneServer is a service with one site ("a", VIP 192.0.2.1) and one real
// server.
func oneServer(name string, ap netip.AddrPort, h *zones.Health) zones.Service {
	return zones.Service{
		Name:   name,
		Health: h,
		Sites: []zones.Site{{
			Name: "a", VIPs: []string{"192.0.2.1"},
			RealServers: []zones.RealServer{rs(ap, 1)},
		}},
	}
}

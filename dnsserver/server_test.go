package dnsserver

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/zones"
)

// startServer serves snap on a loopback port until the test ends.
func startServer(t *testing.T, cfg Config, snap *Snapshot) (*Server, string) {
	t.Helper()
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, snap)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, l.Addr().String()
}

func TestServeUDPAndTCP(t *testing.T) {
	_, addr := startServer(t, Config{}, testSnapshot(t))
	for _, netw := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(question("www.example.com.", dns.TypeA), addr)
		if err != nil {
			t.Fatalf("%s: %v", netw, err)
		}
		if len(r.Answer) != 2 || !r.Authoritative {
			t.Errorf("%s: %d answers aa %v", netw, len(r.Answer), r.Authoritative)
		}
	}
	// The same big answer: truncated over UDP, whole over TCP.
	udp, _, err := (&dns.Client{Net: "udp"}).Exchange(question("big.example.com.", dns.TypeTXT), addr)
	if err != nil || !udp.Truncated {
		t.Fatalf("UDP big answer: err %v, tc %v", err, udp != nil && udp.Truncated)
	}
	tcp, _, err := (&dns.Client{Net: "tcp"}).Exchange(question("big.example.com.", dns.TypeTXT), addr)
	if err != nil || tcp.Truncated || len(tcp.Answer) != 2 {
		t.Fatalf("TCP big answer: err %v", err)
	}
}

func TestSwapDropsNoQuery(t *testing.T) {
	s, addr := startServer(t, Config{}, testSnapshot(t))
	other, err := Compile([]*zones.Zone{parseZone(t, "sub.example.com.", subZone)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	full := testSnapshot(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				s.Swap(other)
			} else {
				s.Swap(full)
			}
		}
	})
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	for i := range 500 {
		r, _, err := c.Exchange(question("www.sub.example.com.", dns.TypeA), addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("query %d during swaps: err %v reply %v", i, err, r)
		}
	}
	close(stop)
	wg.Wait()
}

func TestAXFR(t *testing.T) {
	allowed := Config{AllowTransfer: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	_, addr := startServer(t, allowed, testSnapshot(t))
	tr := &dns.Transfer{}
	env, err := tr.In(question("example.com.", dns.TypeAXFR), addr)
	if err != nil {
		t.Fatal(err)
	}
	var rrs []dns.RR
	for e := range env {
		if e.Error != nil {
			t.Fatal(e.Error)
		}
		rrs = append(rrs, e.RR...)
	}
	n := len(testSnapshot(t).zones["example.com."].allRecords())
	if len(rrs) != n+1 {
		t.Fatalf("AXFR gave %d records, want %d (zone plus closing SOA)", len(rrs), n+1)
	}
	if rrs[0].Header().Rrtype != dns.TypeSOA || rrs[len(rrs)-1].Header().Rrtype != dns.TypeSOA {
		t.Fatal("AXFR must start and end with the SOA")
	}

	denied := Config{AllowTransfer: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	_, addr2 := startServer(t, denied, testSnapshot(t))
	r, _, err := (&dns.Client{Net: "tcp"}).Exchange(question("example.com.", dns.TypeAXFR), addr2)
	if err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("AXFR from a network not allowed: err %v rcode %v", err, r)
	}
}

func TestTCPLimits(t *testing.T) {
	s, addr := startServer(t, Config{TCPMaxConns: 2, TCPIdleTimeout: 300 * time.Millisecond}, testSnapshot(t))
	// Two idle connections fill the cap; a third is closed at once.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(50 * time.Millisecond)
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	third.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("connection over the cap was not closed: %v", err)
	}
	if s.Metrics.tcpRefused.Load() == 0 {
		t.Error("refused connection not counted")
	}
	// The idle ones are closed after the idle timeout, freeing the slots.
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("idle connection not closed by the server: %v", err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	r, _, err := (&dns.Client{Net: "tcp", Timeout: 2 * time.Second}).Exchange(question("www.example.com.", dns.TypeA), addr)
	if err != nil || len(r.Answer) != 2 {
		t.Fatalf("query after idle connections closed: %v", err)
	}
}

func TestMetricsCount(t *testing.T) {
	s, addr := startServer(t, Config{}, testSnapshot(t))
	c := &dns.Client{Net: "udp"}
	c.Exchange(question("www.example.com.", dns.TypeA), addr)
	c.Exchange(question("nope.example.com.", dns.TypeAAAA), addr)
	var b strings.Builder
	s.Metrics.WritePrometheus(&b)
	for _, want := range []string{
		`lbdns_dns_queries_total{type="A",rcode="NOERROR"} 1`,
		`lbdns_dns_queries_total{type="AAAA",rcode="NXDOMAIN"} 1`,
		`lbdns_dns_request_duration_seconds_count 2`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}

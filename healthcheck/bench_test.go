//go:build unix

package healthcheck

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// The scale benchmark probes 5000 TCP targets, each a real loopback
// listener, every second, and measures the CPU the checker uses:
//
//	go test -run '^$' -bench Probe5000 -benchtime 1x ./healthcheck/
//
// The listeners live in a child process (this test binary re-executed with
// benchChildEnv set), so the process's rusage is the checker's own: its
// timers, dials, closes and bookkeeping, plus the kernel's work on the
// client side of each handshake. LBDNS_BENCH_WINDOW sets the measured
// window (default 10s; a 2s warm-up comes first).
const (
	benchTargets  = 5000
	benchChildEnv = "LBDNS_BENCH_LISTENERS"
)

func BenchmarkProbe5000TCP(b *testing.B) {
	window := 10 * time.Second
	if w := os.Getenv("LBDNS_BENCH_WINDOW"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil {
			b.Fatalf("LBDNS_BENCH_WINDOW: %v", err)
		}
		window = d
	}
	ports := startListenerChild(b, benchTargets)

	// 250 services × 2 sites × 10 real servers, one listener each.
	var svcs []zones.StoredService
	for i := 0; len(svcs)*20 < benchTargets; i++ {
		svc := zones.Service{
			Name: fmt.Sprintf("s%d.lb.example.com", i), Initial: "up",
			Health: &zones.Health{Kind: "tcp", Interval: "1s", Timeout: "2s"},
		}
		for j := range 2 {
			site := zones.Site{Name: fmt.Sprintf("site%d", j), VIPs: []string{fmt.Sprintf("192.0.2.%d", j+1)}}
			for k := range 10 {
				port := ports[i*20+j*10+k]
				site.RealServers = append(site.RealServers, rs(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), 1))
			}
			svc.Sites = append(svc.Sites, site)
		}
		svcs = append(svcs, stored(b, svc, nil))
	}
	c := New(slog.New(slog.DiscardHandler), 0)
	defer c.Close()
	if err := c.Apply(svcs); err != nil {
		b.Fatal(err)
	}
	c.mu.Lock()
	n := len(c.runners)
	c.mu.Unlock()
	if n != benchTargets {
		b.Fatalf("%d targets running, want %d", n, benchTargets)
	}
	time.Sleep(2 * time.Second) // every target has started its 1s rhythm

	var cpu, sys, wall time.Duration
	var ok, failed, latency uint64
	b.ResetTimer()
	for range b.N {
		cpu0, sys0 := cpuTime(b)
		ok0, failed0, lat0, t0 := c.Metrics.probes[0][1].Load(), c.Metrics.probes[0][0].Load(), c.Metrics.latencySum.Load(), time.Now()
		time.Sleep(window)
		cpu1, sys1 := cpuTime(b)
		cpu, sys = cpu+cpu1-cpu0, sys+sys1-sys0
		wall += time.Since(t0)
		ok += c.Metrics.probes[0][1].Load() - ok0
		failed += c.Metrics.probes[0][0].Load() - failed0
		latency += c.Metrics.latencySum.Load() - lat0
	}
	b.StopTimer()
	probes := ok + failed
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
	b.ReportMetric(sys.Seconds()/wall.Seconds(), "sys-cores") // of which in the kernel
	b.ReportMetric(float64(probes)/wall.Seconds(), "probes/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(probes, 1)), "cpu-µs/probe")
	b.ReportMetric(float64(failed)/wall.Seconds(), "failed/s")
	b.ReportMetric(float64(latency)/1e3/float64(max(probes, 1)), "probe-µs") // mean probe latency
	if failed*100 > probes {
		b.Errorf("%d of %d probes failed: the figure is not of healthy probing", failed, probes)
	}
	for _, svc := range c.Status() {
		for _, site := range svc.Sites {
			if !site.Up {
				b.Errorf("%s/%s down: %s", svc.Service, site.Site, site.Reason)
			}
		}
	}
}

// cpuTime is the user plus system CPU this process has used, and the
// system part alone.
func cpuTime(b *testing.B) (total, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())
}

// startListenerChild re-executes the test binary as a process holding n
// loopback listeners and returns their ports. The child exits when its
// stdin closes, at the end of the benchmark or if this process dies.
func startListenerChild(b *testing.B, n int) []uint16 {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchListenerChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchChildEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	var ports []uint16
	for len(ports) < n && sc.Scan() {
		p, err := strconv.ParseUint(sc.Text(), 10, 16)
		if err != nil {
			b.Fatalf("listener child said %q", sc.Text())
		}
		ports = append(ports, uint16(p))
	}
	if len(ports) < n {
		b.Fatalf("listener child gave %d ports of %d: %v", len(ports), n, sc.Err())
	}
	go io.Copy(io.Discard, stdout) // the test framework's own output
	return ports
}

// TestBenchListenerChild is not a test: it is the listener process of
// BenchmarkProbe5000TCP, and skips unless run as one.
func TestBenchListenerChild(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(benchChildEnv))
	if n == 0 {
		t.Skip("the listener process of BenchmarkProbe5000TCP")
	}
	out := bufio.NewWriter(os.Stdout)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "listener child:", err)
			os.Exit(1)
		}
		fmt.Fprintln(out, ln.Addr().(*net.TCPAddr).Port)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	out.Flush()
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// BenchmarkDialCloseTCP is the floor under BenchmarkProbe5000TCP: one
// goroutine connecting to and closing the same listeners back to back,
// with no checker around it. Its cpu-µs/op against the checker's
// cpu-µs/probe is the checker's own overhead. The variants show what the
// kernel side costs: the default dialer (TCP keepalive set up on every
// connection), keepalive off, and keepalive off with an abortive close
// (RST, no TIME_WAIT left behind).
func BenchmarkDialCloseTCP(b *testing.B) {
	ports := startListenerChild(b, benchTargets)
	for _, v := range []struct {
		name      string
		keepAlive time.Duration
		rst       bool
	}{{"default", 0, false}, {"nokeepalive", -1, false}, {"nokeepalive-rst", -1, true}} {
		b.Run(v.name, func(b *testing.B) {
			d := net.Dialer{KeepAlive: v.keepAlive}
			ctx := b.Context()
			cpu0, sys0 := cpuTime(b)
			i := 0
			for b.Loop() {
				c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ports[i%len(ports)]).String())
				if err != nil {
					b.Fatal(err)
				}
				if v.rst {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
				i++
			}
			cpu1, sys1 := cpuTime(b)
			b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64((sys1-sys0).Microseconds())/float64(b.N), "sys-µs/op")
		})
	}
}

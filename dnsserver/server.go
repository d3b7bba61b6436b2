package dnsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lbdns/lbdns/geo"
)

// Config holds the server's settings.
type Config struct {
	AllowTransfer  []netip.Prefix // networks that may AXFR over TCP
	TCPIdleTimeout time.Duration  // close an idle TCP connection after this
	TCPMaxConns    int            // connections beyond this are closed at once
	LogQueries     bool           // log every query at Info level
	Geo            *geo.DB        // client locations for geo steering; nil: unknown
	Logger         *slog.Logger
}

// Defaults for zero Config fields.
const (
	DefaultTCPIdleTimeout = 10 * time.Second
	DefaultTCPMaxConns    = 512
)

// Server answers DNS over UDP and TCP from the current snapshot.
type Server struct {
	cfg     Config
	log     *slog.Logger
	snap    atomic.Pointer[Snapshot]
	Metrics Metrics
}

// New returns a server answering from snap until the next Swap.
func New(cfg Config, snap *Snapshot) *Server {
	if cfg.TCPIdleTimeout <= 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.TCPMaxConns <= 0 {
		cfg.TCPMaxConns = DefaultTCPMaxConns
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if snap == nil {
		snap = &Snapshot{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.snap.Store(snap)
	return s
}

// Swap makes snap the snapshot for every query that starts from now on.
// Queries in flight finish on the snapshot they loaded.
func (s *Server) Swap(snap *Snapshot) { s.snap.Store(snap) }

// Snapshot returns the snapshot queries are answered from.
func (s *Server) Snapshot() *Snapshot { return s.snap.Load() }

// Listener is the UDP sockets (one per core, SO_REUSEPORT) and the TCP
// listener bound to one address.
type Listener struct {
	UDP []*net.UDPConn
	TCP net.Listener
}

// Addr is the address the sockets are bound to.
func (l *Listener) Addr() netip.AddrPort { return udpAddr(l.UDP[0]) }

// Listen binds UDP and TCP on addr. With port 0 both get the same free port.
func Listen(addr string) (*Listener, error) {
	var lastErr error
	for range 10 {
		us, err := listenUDP(addr, runtime.GOMAXPROCS(0))
		if err != nil {
			return nil, err
		}
		t, err := net.Listen("tcp", us[0].LocalAddr().String())
		if err == nil {
			return &Listener{UDP: us, TCP: t}, nil
		}
		for _, u := range us {
			u.Close()
		}
		lastErr = err
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, fmt.Errorf("listen tcp %s: %w", addr, lastErr)
}

// Serve answers on the listeners until ctx is cancelled, then closes them
// and waits for the goroutines it started.
func (s *Server) Serve(ctx context.Context, ls ...*Listener) error {
	var wg sync.WaitGroup
	for _, l := range ls {
		for _, u := range l.UDP {
			wg.Go(func() { s.serveUDPBatch(u) })
		}
		wg.Go(func() { s.serveTCP(ctx, l.TCP) })
	}
	<-ctx.Done()
	for _, l := range ls {
		for _, u := range l.UDP {
			u.Close()
		}
		l.TCP.Close()
	}
	wg.Wait()
	return nil
}

// serve handles one request and records it.
func (s *Server) serve(req Request, write func([]byte) error) {
	defer func() {
		// A bug must cost one query, not the server; the fuzz target and
		// tests look for such packets, this is only the backstop.
		if v := recover(); v != nil {
			s.Metrics.dropped.Add(1)
			s.log.Error("query handler panicked; packet dropped", "client", req.Client, "panic", v,
				"packet", fmt.Sprintf("%x", req.Packet))
		}
	}()
	start := time.Now()
	out, err := s.Handle(req, write)
	d := time.Since(start)
	s.Metrics.observe(out, d)
	if err != nil {
		s.log.Debug("write reply", "client", req.Client, "err", err)
	}
	if s.cfg.LogQueries && out.rcode >= 0 {
		s.logQuery(req, out, d)
	}
}

package dnsserver

import (
	"context"
	"errors"
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
	UDPWorkers     int            // readers per UDP socket
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
	if cfg.UDPWorkers <= 0 {
		cfg.UDPWorkers = runtime.GOMAXPROCS(0)
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

// Listener is a bound UDP socket and TCP listener on the same address.
type Listener struct {
	UDP *net.UDPConn
	TCP net.Listener
}

// Addr is the address both sockets are bound to.
func (l *Listener) Addr() netip.AddrPort {
	return l.UDP.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Listen binds UDP and TCP on addr. With port 0 both get the same free port.
func Listen(addr string) (*Listener, error) {
	var lastErr error
	for range 10 {
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		uc := u.(*net.UDPConn)
		t, err := net.Listen("tcp", uc.LocalAddr().String())
		if err == nil {
			return &Listener{UDP: uc, TCP: t}, nil
		}
		uc.Close()
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
		for range s.cfg.UDPWorkers {
			wg.Go(func() { s.serveUDP(l.UDP) })
		}
		wg.Go(func() { s.serveTCP(ctx, l.TCP) })
	}
	<-ctx.Done()
	for _, l := range ls {
		l.UDP.Close()
		l.TCP.Close()
	}
	wg.Wait()
	return nil
}

// serveUDP reads datagrams and answers each in place; workers share the
// socket, and each owns its buffer.
func (s *Server) serveUDP(c *net.UDPConn) {
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		req := Request{Packet: buf[:n], Client: from}
		s.serve(req, func(b []byte) error {
			_, err := c.WriteToUDPAddrPort(b, from)
			return err
		})
	}
}

// serve handles one request and records it.
func (s *Server) serve(req Request, write func([]byte) error) {
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

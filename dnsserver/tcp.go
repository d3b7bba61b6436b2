package dnsserver

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// serveTCP accepts connections up to the cap; one over it is closed at once,
// so slow or idle clients cannot exhaust the server.
func (s *Server) serveTCP(ctx context.Context, l net.Listener) {
	sem := make(chan struct{}, s.cfg.TCPMaxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. EMFILE: back off
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			s.Metrics.tcpRefused.Add(1)
			c.Close()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.serveConn(ctx, c)
		})
	}
}

// serveConn answers length-prefixed messages (RFC 7766) until the client
// closes, stays idle past the timeout, or the server stops.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	from := addrPort(c.RemoteAddr())
	r := bufio.NewReader(c)
	var lenBuf [2]byte
	buf := make([]byte, 0, 512)
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		var werr error
		s.serve(Request{Packet: buf, Client: from, TCP: true}, func(b []byte) error {
			if werr != nil {
				return werr
			}
			werr = writeTCP(c, b, s.cfg.TCPIdleTimeout)
			return werr
		})
		if werr != nil {
			return
		}
	}
}

// writeTCP writes one length-prefixed message in a single write.
func writeTCP(c net.Conn, b []byte, timeout time.Duration) error {
	out := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(out, uint16(len(b)))
	copy(out[2:], b)
	c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(out)
	return err
}

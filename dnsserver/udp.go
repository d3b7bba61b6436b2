package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// udpBatch is how many datagrams one recvmmsg/sendmmsg call moves.
const udpBatch = 32

// listenUDP binds n sockets to addr with SO_REUSEPORT, so the kernel
// spreads queries over them and each is read by its own goroutine. With
// port 0 the first socket picks the port and the rest join it.
func listenUDP(addr string, n int) ([]*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	var out []*net.UDPConn
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			for _, c := range out {
				c.Close()
			}
			return nil, fmt.Errorf("listen udp %s: %w", addr, err)
		}
		c := pc.(*net.UDPConn)
		out = append(out, c)
		if i == 0 {
			addr = c.LocalAddr().String()
		}
	}
	return out, nil
}

// serveUDPBatch answers on one socket, reading and writing up to udpBatch
// datagrams per system call (recvmmsg/sendmmsg). The ipv4 package's batch
// calls work on IPv6 sockets too: they only pass addresses through.
func (s *Server) serveUDPBatch(c *net.UDPConn) {
	pc := ipv4.NewPacketConn(c)
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, 0, udpBatch)
	bufs := make([][]byte, udpBatch)
	replies := make([][]byte, udpBatch)
	for i := range in {
		bufs[i] = make([]byte, 65535)
		in[i].Buffers = [][]byte{bufs[i]}
		replies[i] = make([]byte, 0, 1500)
	}
	for {
		n, err := pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			runtime.Gosched()
			continue
		}
		out = out[:0]
		for i := range n {
			m := &in[i]
			from := addrPort(m.Addr)
			req := Request{Packet: bufs[i][:m.N], Client: from}
			s.serve(req, func(b []byte) error {
				replies[i] = append(replies[i][:0], b...)
				out = append(out, ipv4.Message{Buffers: [][]byte{replies[i]}, Addr: m.Addr})
				return nil
			})
		}
		for sent := 0; sent < len(out); {
			k, err := pc.WriteBatch(out[sent:], 0)
			if err != nil {
				break // the client is gone, or the socket closed: drop the rest
			}
			sent += k
		}
	}
}

// udpAddr is the local address of a socket.
func udpAddr(c *net.UDPConn) netip.AddrPort { return c.LocalAddr().(*net.UDPAddr).AddrPort() }

package dnsserver

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// logQuery writes one query-log line (serve --log-queries).
func (s *Server) logQuery(req Request, o outcome, d time.Duration) {
	proto := "udp"
	if req.TCP {
		proto = "tcp"
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "query",
		slog.String("client", req.Client.String()),
		slog.String("proto", proto),
		slog.String("name", questionName(o.question)),
		slog.String("type", dns.Type(o.qtype).String()),
		slog.String("rcode", rcodeName(o.rcode)),
		slog.Int("size", o.size),
		slog.Duration("duration", d),
	)
}

// addrPort converts a net.Addr from a TCP or UDP socket.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// questionName decodes the question's name, as the client spelled it.
func questionName(q []byte) string {
	var m [headerLen]byte
	msg := append(m[:], q...)
	name, _, err := dns.UnpackDomainName(msg, headerLen)
	if err != nil {
		return "?"
	}
	return name
}

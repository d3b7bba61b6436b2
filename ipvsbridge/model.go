// Package ipvsbridge programs Linux IPVS directors: it turns the desired
// virtual services and real-server weights of the sites lbdns directs into
// kernel state, level-triggered, touching only the VIPs it owns. It never
// flushes the table.
package ipvsbridge

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// VirtualService identifies and configures one IPVS service (a VIP).
type VirtualService struct {
	Addr        netip.Addr `json:"addr"`
	Port        uint16     `json:"port"`
	Protocol    string     `json:"protocol"`    // tcp, udp, sctp
	Scheduler   string     `json:"scheduler"`   // rr, wrr, wlc, ...
	Persistence uint32     `json:"persistence"` // seconds; 0 = none
}

// Key identifies a virtual service: protocol, address and port.
func (v VirtualService) Key() string {
	return v.Protocol + "/" + netip.AddrPortFrom(v.Addr, v.Port).String()
}

func (v VirtualService) String() string { return v.Key() }

// RealServer is a destination of a virtual service.
type RealServer struct {
	Addr    netip.Addr `json:"addr"`
	Port    uint16     `json:"port"`
	Weight  int        `json:"weight"`  // 0..65535
	Forward string     `json:"forward"` // nat, dr, tun
	// Unsettled marks a desired real server whose health is not yet known
	// (its first probes are still running): the reconciler adds it at
	// Weight if missing but leaves the weight the kernel has, so a restart
	// does not zero live servers while probes catch up.
	Unsettled bool `json:"unsettled,omitempty"`
	// Read back from the kernel only.
	ActiveConns   int `json:"active_conns"`
	InactiveConns int `json:"inactive_conns"`
}

// Key identifies a real server within its virtual service.
func (r RealServer) Key() string { return netip.AddrPortFrom(r.Addr, r.Port).String() }

// Service is a virtual service with its real servers: desired or actual.
type Service struct {
	VirtualService
	Reals []RealServer `json:"reals"`
}

// MaxWeight is the largest weight the kernel reads back (16 bits).
const MaxWeight = 65535

// Validate checks what the kernel would refuse or silently change.
func (s Service) Validate() error {
	if !s.Addr.IsValid() {
		return fmt.Errorf("%s: no address", s.Key())
	}
	if !slices.Contains([]string{"tcp", "udp", "sctp"}, s.Protocol) {
		return fmt.Errorf("%s: protocol %q", s.Key(), s.Protocol)
	}
	for _, r := range s.Reals {
		if r.Weight < 0 || r.Weight > MaxWeight {
			return fmt.Errorf("%s: real server %s weight %d is out of range 0..%d", s.Key(), r.Key(), r.Weight, MaxWeight)
		}
		if !slices.Contains([]string{"nat", "dr", "tun"}, r.Forward) {
			return fmt.Errorf("%s: real server %s forwarding %q", s.Key(), r.Key(), r.Forward)
		}
		if r.Forward == "nat" && r.Addr.Is4() != s.Addr.Is4() {
			return fmt.Errorf("%s: NAT real server %s must be of the VIP's address family", s.Key(), r.Key())
		}
	}
	return nil
}

// sortServices orders services and their reals by key, for stable output.
func sortServices(svcs []Service) {
	slices.SortFunc(svcs, func(a, b Service) int { return strings.Compare(a.Key(), b.Key()) })
	for i := range svcs {
		slices.SortFunc(svcs[i].Reals, func(a, b RealServer) int { return strings.Compare(a.Key(), b.Key()) })
	}
}

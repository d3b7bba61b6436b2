package ipvsbridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
)

// handle is the part of *ipvs.Handle the port uses; memHandle implements
// it with the kernel's semantics for tests.
type handle interface {
	GetServices() ([]*ipvs.Service, error)
	NewService(*ipvs.Service) error
	UpdateService(*ipvs.Service) error
	DelService(*ipvs.Service) error
	GetDestinations(*ipvs.Service) ([]*ipvs.Destination, error)
	NewDestination(*ipvs.Service, *ipvs.Destination) error
	UpdateDestination(*ipvs.Service, *ipvs.Destination) error
	DelDestination(*ipvs.Service, *ipvs.Destination) error
	Close()
}

// DefaultCallTimeout bounds one netlink call; moby/ipvs retries EAGAIN
// without end, so a call can otherwise hang.
const DefaultCallTimeout = 5 * time.Second

// Kernel is the Port over IPVS netlink (or, for tests, memHandle). Calls
// are serialised, each with a deadline; after a timeout the handle is
// dropped and a new one made for the next call.
type Kernel struct {
	open    func() (handle, error)
	timeout time.Duration

	mu sync.Mutex // serialises calls: a handle is one socket
	h  handle
}

var _ Port = (*Kernel)(nil)

// OpenKernel returns a port to this network namespace's IPVS table. It
// refuses a kernel without IPVS: moby/ipvs would report success for
// everything there and read back nothing.
func OpenKernel() (*Kernel, error) {
	if err := ProbeKernel(); err != nil {
		return nil, err
	}
	k := &Kernel{open: func() (handle, error) { return ipvs.New("") }, timeout: DefaultCallTimeout}
	if _, err := k.Services(context.Background()); err != nil {
		return nil, fmt.Errorf("ipvs: first read: %w", err)
	}
	return k, nil
}

// ProbeKernel checks that the kernel has IPVS: the proc table exists and
// the generic netlink family "IPVS" resolves.
func ProbeKernel() error {
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		return ErrNoIPVS
	}
	if _, err := netlink.GenlFamilyGet("IPVS"); err != nil {
		return fmt.Errorf("%w: generic netlink family IPVS: %v", ErrNoIPVS, err)
	}
	return nil
}

// call runs fn on the handle with the port's deadline.
func (k *Kernel) call(ctx context.Context, what string, fn func(h handle) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h == nil {
		h, err := k.open()
		if err != nil {
			return fmt.Errorf("ipvs: open handle: %w", err)
		}
		k.h = h
	}
	h := k.h
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(h) }()
	select {
	case err := <-done:
		return kernelError(what, err)
	case <-ctx.Done():
		// The call may never return: abandon this handle (closing its
		// socket ends the call) and open a fresh one next time.
		h.Close()
		k.h = nil
		return fmt.Errorf("ipvs: %s: %w", what, ctx.Err())
	}
}

// kernelError maps errnos to the package's errors, keeping context.
func kernelError(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.EEXIST):
		err = ErrExists
	case errors.Is(err, syscall.ESRCH):
		err = ErrNotFound
	case errors.Is(err, syscall.ENOENT):
		err = ErrNoDest
	}
	return fmt.Errorf("ipvs: %s: %w", what, err)
}

// Close releases the handle.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.h != nil {
		k.h.Close()
		k.h = nil
	}
	return nil
}

// Services reads every service in the table, normalised, with reals.
func (k *Kernel) Services(ctx context.Context) ([]Service, error) {
	var out []Service
	err := k.call(ctx, "read services", func(h handle) error {
		out = out[:0]
		svcs, err := h.GetServices()
		if err != nil {
			return err
		}
		for _, s := range svcs {
			v, ok := fromKernelService(s)
			if !ok {
				continue // fwmark services and the like are not ours
			}
			dsts, err := h.GetDestinations(s)
			if err != nil {
				return err
			}
			svc := Service{VirtualService: v}
			for _, d := range dsts {
				svc.Reals = append(svc.Reals, fromKernelDest(d))
			}
			out = append(out, svc)
		}
		return nil
	})
	if err != nil {
		return nil, err // a timed-out read may still be writing out
	}
	sortServices(out)
	return out, nil
}

func (k *Kernel) readService(ctx context.Context, v VirtualService) (*Service, error) {
	all, err := k.Services(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Key() == v.Key() {
			return &all[i], nil
		}
	}
	return nil, nil
}

// AddService creates v and confirms it by reading it back.
func (k *Kernel) AddService(ctx context.Context, v VirtualService) error {
	if err := k.call(ctx, "add service "+v.Key(), func(h handle) error { return h.NewService(toKernelService(v)) }); err != nil {
		return err
	}
	return k.confirmService(ctx, v)
}

// UpdateService changes v's scheduler or persistence, confirmed.
func (k *Kernel) UpdateService(ctx context.Context, v VirtualService) error {
	if err := k.call(ctx, "update service "+v.Key(), func(h handle) error { return h.UpdateService(toKernelService(v)) }); err != nil {
		return err
	}
	return k.confirmService(ctx, v)
}

// DeleteService removes v and its real servers.
func (k *Kernel) DeleteService(ctx context.Context, v VirtualService) error {
	return k.call(ctx, "delete service "+v.Key(), func(h handle) error { return h.DelService(toKernelService(v)) })
}

func (k *Kernel) confirmService(ctx context.Context, v VirtualService) error {
	got, err := k.readService(ctx, v)
	if err != nil {
		return err
	}
	if got == nil {
		return fmt.Errorf("ipvs: %s was written but does not read back (is IPVS really in this kernel?)", v.Key())
	}
	if got.Scheduler != v.Scheduler || got.Persistence != v.Persistence {
		return fmt.Errorf("ipvs: %s reads back as scheduler %s persistence %d, wrote %s %d",
			v.Key(), got.Scheduler, got.Persistence, v.Scheduler, v.Persistence)
	}
	return nil
}

// AddReal adds r to v, confirmed by read-back.
func (k *Kernel) AddReal(ctx context.Context, v VirtualService, r RealServer) error {
	err := k.call(ctx, "add real "+r.Key()+" to "+v.Key(), func(h handle) error {
		return h.NewDestination(toKernelService(v), toKernelDest(r))
	})
	if err != nil {
		return err
	}
	return k.confirmReal(ctx, v, r)
}

// UpdateReal changes r's weight or forwarding, confirmed by read-back.
func (k *Kernel) UpdateReal(ctx context.Context, v VirtualService, r RealServer) error {
	err := k.call(ctx, "update real "+r.Key()+" of "+v.Key(), func(h handle) error {
		return h.UpdateDestination(toKernelService(v), toKernelDest(r))
	})
	if err != nil {
		return err
	}
	return k.confirmReal(ctx, v, r)
}

// DeleteReal removes r from v.
func (k *Kernel) DeleteReal(ctx context.Context, v VirtualService, r RealServer) error {
	return k.call(ctx, "delete real "+r.Key()+" of "+v.Key(), func(h handle) error {
		return h.DelDestination(toKernelService(v), toKernelDest(r))
	})
}

func (k *Kernel) confirmReal(ctx context.Context, v VirtualService, r RealServer) error {
	got, err := k.readService(ctx, v)
	if err != nil {
		return err
	}
	if got != nil {
		for _, g := range got.Reals {
			if g.Key() == r.Key() {
				if g.Weight != r.Weight || g.Forward != r.Forward {
					return fmt.Errorf("ipvs: real %s of %s reads back as weight %d %s, wrote %d %s",
						r.Key(), v.Key(), g.Weight, g.Forward, r.Weight, r.Forward)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("ipvs: real %s of %s was written but does not read back", r.Key(), v.Key())
}

// Kernel constants (linux/ip_vs.h).
const (
	svcFlagPersistent = 0x1
	svcFlagHashed     = 0x2 // set by the kernel on every service it returns
	fwdMasq           = 0x0
	fwdTunnel         = 0x2
	fwdDirect         = 0x3
)

var protoNumbers = map[string]uint16{"tcp": syscall.IPPROTO_TCP, "udp": syscall.IPPROTO_UDP, "sctp": 132}

func toKernelService(v VirtualService) *ipvs.Service {
	s := &ipvs.Service{
		Address: net.IP(v.Addr.AsSlice()), Port: v.Port, Protocol: protoNumbers[v.Protocol],
		SchedName: v.Scheduler, AddressFamily: syscall.AF_INET, Netmask: 0xffffffff,
	}
	if v.Addr.Is6() {
		s.AddressFamily, s.Netmask = syscall.AF_INET6, 128
	}
	if v.Persistence > 0 {
		s.Flags, s.Timeout = svcFlagPersistent, v.Persistence
	}
	return s
}

func fromKernelService(s *ipvs.Service) (VirtualService, bool) {
	a, ok := netip.AddrFromSlice(s.Address)
	if !ok || s.FWMark != 0 {
		return VirtualService{}, false
	}
	if s.AddressFamily == syscall.AF_INET {
		a = a.Unmap()
	}
	v := VirtualService{Addr: a, Port: s.Port, Scheduler: s.SchedName}
	for name, n := range protoNumbers {
		if n == s.Protocol {
			v.Protocol = name
		}
	}
	if s.Flags&^svcFlagHashed&svcFlagPersistent != 0 {
		v.Persistence = s.Timeout
	}
	return v, v.Protocol != ""
}

func toKernelDest(r RealServer) *ipvs.Destination {
	d := &ipvs.Destination{Address: net.IP(r.Addr.AsSlice()), Port: r.Port, Weight: r.Weight, AddressFamily: syscall.AF_INET}
	if r.Addr.Is6() {
		d.AddressFamily = syscall.AF_INET6
	}
	switch r.Forward {
	case "dr":
		d.ConnectionFlags = fwdDirect
	case "tun":
		d.ConnectionFlags = fwdTunnel
	default:
		d.ConnectionFlags = fwdMasq
	}
	return d
}

func fromKernelDest(d *ipvs.Destination) RealServer {
	a, _ := netip.AddrFromSlice(d.Address)
	if d.AddressFamily == syscall.AF_INET {
		a = a.Unmap()
	}
	r := RealServer{Addr: a, Port: d.Port, Weight: d.Weight & 0xffff, ActiveConns: d.ActiveConnections, InactiveConns: d.InactiveConnections}
	switch d.ConnectionFlags & ipvs.ConnectionFlagFwdMask {
	case fwdDirect:
		r.Forward = "dr"
	case fwdTunnel:
		r.Forward = "tun"
	case fwdMasq:
		r.Forward = "nat"
	default:
		r.Forward = fmt.Sprintf("fwd%d", d.ConnectionFlags&ipvs.ConnectionFlagFwdMask)
	}
	return r
}

package ipvsbridge

import (
	"fmt"
	"net"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/moby/ipvs"
)

// Memory is an in-memory IPVS table with the kernel's semantics where the
// reconciler depends on them: EEXIST on a second add, ESRCH for a missing
// service, ENOENT for a missing destination, the HASHED flag on every
// service read back, and weights read back as 16 bits. Tests drive the
// reconciler's logic with it; only a real kernel proves the rest.
type Memory struct {
	mu    sync.Mutex
	svcs  map[string]*memService
	hang  time.Duration // every call sleeps this long first (timeout tests)
	calls int
}

type memService struct {
	svc   ipvs.Service
	dests map[string]*ipvs.Destination
}

// NewMemory returns an empty table.
func NewMemory() *Memory { return &Memory{svcs: map[string]*memService{}} }

// Port returns a Kernel port over the table, with the given call timeout.
func (m *Memory) Port(timeout time.Duration) *Kernel {
	return &Kernel{open: func() (handle, error) { return memHandle{m}, nil }, timeout: timeout}
}

// SetHang makes every later call block for d before it runs.
func (m *Memory) SetHang(d time.Duration) {
	m.mu.Lock()
	m.hang = d
	m.mu.Unlock()
}

// SetConns sets a destination's connection counts, as traffic would.
func (m *Memory) SetConns(v VirtualService, r RealServer, active, inactive int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.svcs[memKey(toKernelService(v))]; s != nil {
		if d := s.dests[memDestKey(toKernelDest(r))]; d != nil {
			d.ActiveConnections, d.InactiveConnections = active, inactive
		}
	}
}

// Calls counts calls made, for tests that check nothing was written.
func (m *Memory) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func memKey(s *ipvs.Service) string {
	return fmt.Sprintf("%d/%s/%d", s.Protocol, net.IP(s.Address).String(), s.Port)
}

func memDestKey(d *ipvs.Destination) string {
	return fmt.Sprintf("%s/%d", net.IP(d.Address).String(), d.Port)
}

// memHandle is one "socket" onto a Memory table.
type memHandle struct{ m *Memory }

func (h memHandle) enter() func() {
	h.m.mu.Lock()
	hang := h.m.hang
	h.m.calls++
	h.m.mu.Unlock()
	if hang > 0 {
		time.Sleep(hang)
	}
	h.m.mu.Lock()
	return h.m.mu.Unlock
}

func (h memHandle) Close() {}

func (h memHandle) GetServices() ([]*ipvs.Service, error) {
	defer h.enter()()
	keys := make([]string, 0, len(h.m.svcs))
	for k := range h.m.svcs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*ipvs.Service, 0, len(keys))
	for _, k := range keys {
		s := h.m.svcs[k].svc
		s.Flags |= svcFlagHashed
		out = append(out, &s)
	}
	return out, nil
}

func (h memHandle) NewService(s *ipvs.Service) error {
	defer h.enter()()
	k := memKey(s)
	if h.m.svcs[k] != nil {
		return syscall.EEXIST
	}
	h.m.svcs[k] = &memService{svc: *s, dests: map[string]*ipvs.Destination{}}
	return nil
}

func (h memHandle) UpdateService(s *ipvs.Service) error {
	defer h.enter()()
	ms := h.m.svcs[memKey(s)]
	if ms == nil {
		return syscall.ESRCH
	}
	ms.svc = *s
	return nil
}

func (h memHandle) DelService(s *ipvs.Service) error {
	defer h.enter()()
	k := memKey(s)
	if h.m.svcs[k] == nil {
		return syscall.ESRCH
	}
	delete(h.m.svcs, k)
	return nil
}

func (h memHandle) GetDestinations(s *ipvs.Service) ([]*ipvs.Destination, error) {
	defer h.enter()()
	ms := h.m.svcs[memKey(s)]
	if ms == nil {
		return nil, syscall.ESRCH
	}
	keys := make([]string, 0, len(ms.dests))
	for k := range ms.dests {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*ipvs.Destination, 0, len(keys))
	for _, k := range keys {
		d := *ms.dests[k]
		d.Weight &= 0xffff // the kernel's attribute is 32 bits, read back as 16
		out = append(out, &d)
	}
	return out, nil
}

func (h memHandle) NewDestination(s *ipvs.Service, d *ipvs.Destination) error {
	defer h.enter()()
	ms := h.m.svcs[memKey(s)]
	if ms == nil {
		return syscall.ESRCH
	}
	k := memDestKey(d)
	if ms.dests[k] != nil {
		return syscall.EEXIST
	}
	c := *d
	ms.dests[k] = &c
	return nil
}

func (h memHandle) UpdateDestination(s *ipvs.Service, d *ipvs.Destination) error {
	defer h.enter()()
	ms := h.m.svcs[memKey(s)]
	if ms == nil {
		return syscall.ESRCH
	}
	old := ms.dests[memDestKey(d)]
	if old == nil {
		return syscall.ENOENT
	}
	old.Weight, old.ConnectionFlags = d.Weight, d.ConnectionFlags
	return nil
}

func (h memHandle) DelDestination(s *ipvs.Service, d *ipvs.Destination) error {
	defer h.enter()()
	ms := h.m.svcs[memKey(s)]
	if ms == nil {
		return syscall.ESRCH
	}
	k := memDestKey(d)
	if ms.dests[k] == nil {
		return syscall.ENOENT
	}
	delete(ms.dests, k)
	return nil
}

package ipvsbridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/ipvs"
)

// testTimeout is the per-call deadline of ports in tests that do not hang.
const testTimeout = 5 * time.Second

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func addr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// vs is a virtual service on port 80.
func vs(t testing.TB, proto, a, sched string, persist uint32) VirtualService {
	return VirtualService{Addr: addr(t, a), Port: 80, Protocol: proto, Scheduler: sched, Persistence: persist}
}

func dest(t testing.TB, a string, port uint16, weight int, fwd string) RealServer {
	return RealServer{Addr: addr(t, a), Port: port, Weight: weight, Forward: fwd}
}

func svc(v VirtualService, reals ...RealServer) Service {
	return Service{VirtualService: v, Reals: reals}
}

// fakeClock is the reconciler's now, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is a Memory table, a Kernel port onto it, and a reconciler on the
// port with a fake clock.
type rig struct {
	m     *Memory
	port  *Kernel
	rec   *Reconciler
	clock *fakeClock
}

func newRig(t testing.TB, owned []string) *rig {
	t.Helper()
	m := NewMemory()
	port := m.Port(testTimeout)
	t.Cleanup(func() { port.Close() })
	return withReconciler(m, port, owned)
}

func withReconciler(m *Memory, port Port, owned []string) *rig {
	clock := newClock()
	rec := NewReconciler(port, quietLog(), owned)
	rec.now = clock.Now
	k, _ := port.(*Kernel)
	return &rig{m: m, port: k, rec: rec, clock: clock}
}

// table reads the whole table through a fresh port (not the rig's, so it
// does not count as the reconciler's reads).
func (g *rig) table(t testing.TB) []Service {
	t.Helper()
	p := g.m.Port(testTimeout)
	defer p.Close()
	s, err := p.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reconcile runs one pass and fails the test on error.
func (g *rig) reconcile(t testing.TB, desired ...Service) Plan {
	t.Helper()
	p, err := g.rec.Reconcile(context.Background(), desired)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return p
}

// find returns the service with key in svcs.
func find(svcs []Service, key string) (Service, bool) {
	for _, s := range svcs {
		if s.Key() == key {
			return s, true
		}
	}
	return Service{}, false
}

// weights renders a service's reals as "addr:port=weight/fwd" sorted.
func weights(s Service) string {
	var out []string
	for _, r := range s.Reals {
		out = append(out, fmt.Sprintf("%s=%d/%s", r.Key(), r.Weight, r.Forward))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// summary renders a plan as "kind service [real=weight]" lines.
func summary(p Plan) []string {
	out := []string{}
	for _, a := range p {
		s := string(a.Kind) + " " + a.Service.Key()
		if a.Real != nil {
			s += fmt.Sprintf(" %s=%d", a.Real.Key(), a.Real.Weight)
		}
		out = append(out, s)
	}
	return out
}

// faultPort wraps a Port and fails chosen writes.
type faultPort struct {
	Port
	fail func(op string, v VirtualService, r *RealServer) error
}

func (f faultPort) check(op string, v VirtualService, r *RealServer) error {
	if f.fail == nil {
		return nil
	}
	return f.fail(op, v, r)
}

func (f faultPort) AddService(ctx context.Context, v VirtualService) error {
	if err := f.check("add-service", v, nil); err != nil {
		return err
	}
	return f.Port.AddService(ctx, v)
}

func (f faultPort) UpdateService(ctx context.Context, v VirtualService) error {
	if err := f.check("update-service", v, nil); err != nil {
		return err
	}
	return f.Port.UpdateService(ctx, v)
}

func (f faultPort) DeleteService(ctx context.Context, v VirtualService) error {
	if err := f.check("delete-service", v, nil); err != nil {
		return err
	}
	return f.Port.DeleteService(ctx, v)
}

func (f faultPort) AddReal(ctx context.Context, v VirtualService, r RealServer) error {
	if err := f.check("add-real", v, &r); err != nil {
		return err
	}
	return f.Port.AddReal(ctx, v, r)
}

func (f faultPort) UpdateReal(ctx context.Context, v VirtualService, r RealServer) error {
	if err := f.check("update-real", v, &r); err != nil {
		return err
	}
	return f.Port.UpdateReal(ctx, v, r)
}

func (f faultPort) DeleteReal(ctx context.Context, v VirtualService, r RealServer) error {
	if err := f.check("delete-real", v, &r); err != nil {
		return err
	}
	return f.Port.DeleteReal(ctx, v, r)
}

// spyHandle wraps a handle: it records the methods called and the largest
// number of calls in flight at once, and can drop writes (as moby/ipvs
// does on a kernel without IPVS: success, and nothing read back).
type spyHandle struct {
	h          handle
	dropWrites bool
	onClose    func()

	mu       sync.Mutex
	methods  []string
	inflight atomic.Int32
	maxSeen  atomic.Int32
}

func (s *spyHandle) do(name string, write bool, fn func() error) error {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.methods = append(s.methods, name)
	s.mu.Unlock()
	if write && s.dropWrites {
		return nil
	}
	return fn()
}

func (s *spyHandle) Methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.methods)
}

func (s *spyHandle) GetServices() (out []*ipvs.Service, err error) {
	err = s.do("GetServices", false, func() error { out, err = s.h.GetServices(); return err })
	return out, err
}

func (s *spyHandle) NewService(v *ipvs.Service) error {
	return s.do("NewService", true, func() error { return s.h.NewService(v) })
}

func (s *spyHandle) UpdateService(v *ipvs.Service) error {
	return s.do("UpdateService", true, func() error { return s.h.UpdateService(v) })
}

func (s *spyHandle) DelService(v *ipvs.Service) error {
	return s.do("DelService", true, func() error { return s.h.DelService(v) })
}

func (s *spyHandle) GetDestinations(v *ipvs.Service) (out []*ipvs.Destination, err error) {
	err = s.do("GetDestinations", false, func() error { out, err = s.h.GetDestinations(v); return err })
	return out, err
}

func (s *spyHandle) NewDestination(v *ipvs.Service, d *ipvs.Destination) error {
	return s.do("NewDestination", true, func() error { return s.h.NewDestination(v, d) })
}

func (s *spyHandle) UpdateDestination(v *ipvs.Service, d *ipvs.Destination) error {
	return s.do("UpdateDestination", true, func() error { return s.h.UpdateDestination(v, d) })
}

func (s *spyHandle) DelDestination(v *ipvs.Service, d *ipvs.Destination) error {
	return s.do("DelDestination", true, func() error { return s.h.DelDestination(v, d) })
}

func (s *spyHandle) Close() {
	if s.onClose != nil {
		s.onClose()
	}
	s.h.Close()
}

// spy makes every handle k opens from now on a spy; it returns the
// handles opened, in order.
func spy(k *Kernel, dropWrites bool) func() []*spyHandle {
	var mu sync.Mutex
	var opened []*spyHandle
	open := k.open
	k.open = func() (handle, error) {
		h, err := open()
		if err != nil {
			return nil, err
		}
		s := &spyHandle{h: h, dropWrites: dropWrites}
		mu.Lock()
		opened = append(opened, s)
		mu.Unlock()
		return s, nil
	}
	return func() []*spyHandle {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(opened)
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isErr reports whether err matches target and mentions every word.
func isErr(err, target error, words ...string) bool {
	if err == nil || (target != nil && !errors.Is(err, target)) {
		return false
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			return false
		}
	}
	return true
}

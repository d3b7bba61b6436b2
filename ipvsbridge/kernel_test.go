package ipvsbridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/ipvs"
)

// stored returns what the memory table holds for v, as the kernel would.
func stored(t *testing.T, m *Memory, v VirtualService) ipvs.Service {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.svcs[memKey(toKernelService(v))]
	if s == nil {
		t.Fatalf("%s is not in the table", v.Key())
	}
	return s.svc
}

func TestKernelServiceLifecycle(t *testing.T) {
	cases := []struct {
		name    string
		v       VirtualService
		family  uint16
		netmask uint32
		proto   uint16
		flags   uint32
	}{
		{"ipv4 tcp", vs(t, "tcp", "192.0.2.10", "wlc", 0), syscall.AF_INET, 0xffffffff, syscall.IPPROTO_TCP, 0},
		{"ipv4 udp persistent", vs(t, "udp", "192.0.2.11", "rr", 300), syscall.AF_INET, 0xffffffff, syscall.IPPROTO_UDP, svcFlagPersistent},
		{"ipv6 tcp", vs(t, "tcp", "2001:db8::10", "wrr", 0), syscall.AF_INET6, 128, syscall.IPPROTO_TCP, 0},
		{"ipv6 sctp persistent", vs(t, "sctp", "2001:db8::11", "sh", 60), syscall.AF_INET6, 128, 132, svcFlagPersistent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemory()
			k := m.Port(testTimeout)
			defer k.Close()
			v := tc.v
			if err := k.AddService(ctx, v); err != nil {
				t.Fatalf("AddService: %v", err)
			}

			// What was written: family, netmask, protocol number, flags.
			s := stored(t, m, v)
			if s.AddressFamily != tc.family || s.Netmask != tc.netmask || s.Protocol != tc.proto ||
				s.Flags != tc.flags || s.Timeout != v.Persistence || s.SchedName != v.Scheduler || s.Port != v.Port {
				t.Errorf("stored %+v", s)
			}
			if got := net.IP(s.Address); len(got) != len(v.Addr.AsSlice()) || !got.Equal(net.IP(v.Addr.AsSlice())) {
				t.Errorf("stored address %v, want %v", got, v.Addr)
			}

			// Read back normalised: HASHED masked, protocol by name.
			got, err := k.Services(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []Service{{VirtualService: v}}; !reflect.DeepEqual(got, want) {
				t.Errorf("Services = %+v, want %+v", got, want)
			}

			err = k.AddService(ctx, v)
			if !isErr(err, ErrExists, "add service", v.Key()) {
				t.Errorf("second AddService = %v, want ErrExists with context", err)
			}

			// Scheduler and persistence change, both ways.
			u := v
			u.Scheduler = "lc"
			u.Persistence = 900 - v.Persistence
			if v.Persistence > 0 {
				u.Persistence = 0
			}
			if err := k.UpdateService(ctx, u); err != nil {
				t.Fatalf("UpdateService: %v", err)
			}
			got, _ = k.Services(ctx)
			if len(got) != 1 || got[0].VirtualService != u {
				t.Errorf("after update Services = %+v, want %+v", got, u)
			}
			if s := stored(t, m, u); (s.Flags&svcFlagPersistent != 0) != (u.Persistence > 0) {
				t.Errorf("after update flags %#x for persistence %d", s.Flags, u.Persistence)
			}

			if err := k.DeleteService(ctx, v); err != nil {
				t.Fatalf("DeleteService: %v", err)
			}
			if got, _ := k.Services(ctx); len(got) != 0 {
				t.Errorf("after delete Services = %+v", got)
			}
			if err := k.DeleteService(ctx, v); !isErr(err, ErrNotFound, "delete service", v.Key()) {
				t.Errorf("second DeleteService = %v, want ErrNotFound with context", err)
			}
			if err := k.UpdateService(ctx, v); !isErr(err, ErrNotFound, "update service", v.Key()) {
				t.Errorf("UpdateService of a missing service = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestKernelReals(t *testing.T) {
	cases := []struct {
		name string
		v    VirtualService
		rs   []RealServer
	}{
		{"ipv4 nat dr tun", vs(t, "tcp", "192.0.2.10", "wlc", 0), []RealServer{
			dest(t, "10.0.0.1", 8080, 1, "nat"),
			dest(t, "10.0.0.2", 80, 65535, "dr"),
			dest(t, "10.0.0.3", 80, 0, "tun"),
		}},
		{"ipv6", vs(t, "udp", "2001:db8::10", "rr", 0), []RealServer{
			dest(t, "2001:db8:1::1", 53, 10, "nat"),
			dest(t, "2001:db8:1::2", 53, 20, "dr"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemory()
			k := m.Port(testTimeout)
			defer k.Close()
			v := tc.v
			if err := k.AddReal(ctx, v, tc.rs[0]); !isErr(err, ErrNotFound, "add real", tc.rs[0].Key(), v.Key()) {
				t.Errorf("AddReal to a missing service = %v, want ErrNotFound with context", err)
			}
			if err := k.AddService(ctx, v); err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.rs {
				if err := k.AddReal(ctx, v, r); err != nil {
					t.Fatalf("AddReal %s: %v", r.Key(), err)
				}
			}
			got, err := k.Services(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []Service{svc(v, tc.rs...)}; !reflect.DeepEqual(got, want) {
				t.Errorf("Services =\n%+v, want\n%+v", got, want)
			}

			r := tc.rs[0]
			if err := k.AddReal(ctx, v, r); !isErr(err, ErrExists, "add real", r.Key(), v.Key()) {
				t.Errorf("second AddReal = %v, want ErrExists with context", err)
			}
			r.Weight, r.Forward = 42, "tun"
			if err := k.UpdateReal(ctx, v, r); err != nil {
				t.Fatalf("UpdateReal: %v", err)
			}
			m.SetConns(v, r, 3, 7)
			got, _ = k.Services(ctx)
			if g := got[0].Reals[0]; g.Weight != 42 || g.Forward != "tun" || g.ActiveConns != 3 || g.InactiveConns != 7 {
				t.Errorf("after update and SetConns real = %+v", g)
			}

			if err := k.DeleteReal(ctx, v, r); err != nil {
				t.Fatalf("DeleteReal: %v", err)
			}
			if err := k.DeleteReal(ctx, v, r); !isErr(err, ErrNoDest, "delete real", r.Key(), v.Key()) {
				t.Errorf("second DeleteReal = %v, want ErrNoDest with context", err)
			}
			if err := k.UpdateReal(ctx, v, r); !isErr(err, ErrNoDest, "update real", r.Key()) {
				t.Errorf("UpdateReal of a missing real = %v, want ErrNoDest", err)
			}
			got, _ = k.Services(ctx)
			if len(got[0].Reals) != len(tc.rs)-1 {
				t.Errorf("after delete reals = %+v", got[0].Reals)
			}
			// Deleting the service takes its reals with it.
			if err := k.DeleteService(ctx, v); err != nil {
				t.Fatal(err)
			}
			if err := k.UpdateReal(ctx, v, tc.rs[1]); !isErr(err, ErrNotFound) {
				t.Errorf("UpdateReal in a deleted service = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestKernelReadNormalises puts raw entries in the table, as the kernel
// returns them, and checks what the port makes of them.
func TestKernelReadNormalises(t *testing.T) {
	m := NewMemory()
	put := func(s ipvs.Service, dests ...ipvs.Destination) {
		ms := &memService{svc: s, dests: map[string]*ipvs.Destination{}}
		for i := range dests {
			ms.dests[memDestKey(&dests[i])] = &dests[i]
		}
		m.svcs[memKey(&s)] = ms
	}
	v4 := func(s string) net.IP { return net.ParseIP(s) } // 16-byte form, as netlink may give it
	// No persistence although the kernel reports a timeout; HASHED alone.
	put(ipvs.Service{Address: v4("192.0.2.1"), Port: 80, Protocol: syscall.IPPROTO_TCP, SchedName: "rr",
		AddressFamily: syscall.AF_INET, Flags: svcFlagHashed, Timeout: 300},
		ipvs.Destination{Address: v4("10.0.0.1"), Port: 80, Weight: 0x1_0005, AddressFamily: syscall.AF_INET,
			ConnectionFlags: fwdDirect | 0x0100},
		ipvs.Destination{Address: v4("10.0.0.2"), Port: 80, Weight: 1, AddressFamily: syscall.AF_INET,
			ConnectionFlags: 0x1}, // local node: not a mode of ours
	)
	// Persistent, as stored: read back with HASHED added.
	put(ipvs.Service{Address: net.ParseIP("2001:db8::1"), Port: 443, Protocol: syscall.IPPROTO_UDP, SchedName: "sh",
		AddressFamily: syscall.AF_INET6, Flags: svcFlagPersistent, Timeout: 60, Netmask: 128})
	// Not ours to read: a firewall-mark service and an unknown protocol.
	put(ipvs.Service{FWMark: 7, SchedName: "rr", AddressFamily: syscall.AF_INET})
	put(ipvs.Service{Address: v4("192.0.2.2"), Port: 80, Protocol: 99, SchedName: "rr", AddressFamily: syscall.AF_INET})

	k := m.Port(testTimeout)
	got, err := k.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Service{
		{VirtualService: VirtualService{Addr: addr(t, "192.0.2.1"), Port: 80, Protocol: "tcp", Scheduler: "rr"},
			Reals: []RealServer{
				{Addr: addr(t, "10.0.0.1"), Port: 80, Weight: 5, Forward: "dr"},
				{Addr: addr(t, "10.0.0.2"), Port: 80, Weight: 1, Forward: "fwd1"},
			}},
		{VirtualService: VirtualService{Addr: addr(t, "2001:db8::1"), Port: 443, Protocol: "udp", Scheduler: "sh", Persistence: 60}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Services =\n%+v\nwant\n%+v", got, want)
	}
	if !got[0].Addr.Is4() || !got[0].Reals[0].Addr.Is4() {
		t.Errorf("IPv4 addresses not unmapped: %v %v", got[0].Addr, got[0].Reals[0].Addr)
	}
}

func TestValidate(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	v6 := vs(t, "tcp", "2001:db8::10", "wlc", 0)
	cases := []struct {
		name string
		s    Service
		want string // "" = valid
	}{
		{"ok", svc(v, dest(t, "10.0.0.1", 80, MaxWeight, "nat"), dest(t, "10.0.0.2", 80, 0, "dr")), ""},
		{"ipv6 vip, ipv4 dr real", svc(v6, dest(t, "10.0.0.1", 80, 1, "dr")), ""},
		{"weight 70000", svc(v, dest(t, "10.0.0.1", 80, 70000, "nat")), "weight 70000 is out of range 0..65535"},
		{"negative weight", svc(v, dest(t, "10.0.0.1", 80, -1, "nat")), "weight -1"},
		{"no address", Service{VirtualService: VirtualService{Port: 80, Protocol: "tcp"}}, "no address"},
		{"protocol", svc(VirtualService{Addr: v.Addr, Port: 80, Protocol: "icmp"}), `protocol "icmp"`},
		{"forward", svc(v, dest(t, "10.0.0.1", 80, 1, "masq")), `forwarding "masq"`},
		{"nat across families", svc(v6, dest(t, "10.0.0.1", 80, 1, "nat")), "address family"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && !isErr(err, nil, tc.want):
				t.Errorf("Validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestKernelConfirmsWeight writes a weight the kernel truncates (the port
// does not validate; the read-back must catch it).
func TestKernelConfirmsWeight(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	k := m.Port(testTimeout)
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	if err := k.AddService(ctx, v); err != nil {
		t.Fatal(err)
	}
	r := dest(t, "10.0.0.1", 80, 70000, "nat")
	err := k.AddReal(ctx, v, r)
	if !isErr(err, nil, "reads back as weight 4464", "wrote 70000") {
		t.Errorf("AddReal weight 70000 = %v, want a read-back mismatch", err)
	}
	r.Weight = 1
	if err := k.UpdateReal(ctx, v, r); err != nil {
		t.Fatal(err)
	}
	r.Weight = 65536
	if err := k.UpdateReal(ctx, v, r); !isErr(err, nil, "reads back as weight 0", "wrote 65536") {
		t.Errorf("UpdateReal weight 65536 = %v, want a read-back mismatch", err)
	}
}

// TestKernelConfirmsWrites: a handle that reports success and keeps
// nothing (moby/ipvs on a kernel without IPVS) is caught by the read-back.
func TestKernelConfirmsWrites(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	k := m.Port(testTimeout)
	spy(k, true)
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	if err := k.AddService(ctx, v); !isErr(err, nil, v.Key(), "does not read back") {
		t.Errorf("AddService = %v, want a read-back failure", err)
	}
	if err := k.UpdateService(ctx, v); !isErr(err, nil, "does not read back") {
		t.Errorf("UpdateService = %v, want a read-back failure", err)
	}
	if err := k.AddReal(ctx, v, dest(t, "10.0.0.1", 80, 1, "nat")); !isErr(err, nil, "10.0.0.1:80", "does not read back") {
		t.Errorf("AddReal = %v, want a read-back failure", err)
	}

	// A service that reads back with another scheduler.
	m2 := NewMemory()
	k2 := m2.Port(testTimeout)
	if err := k2.AddService(ctx, v); err != nil {
		t.Fatal(err)
	}
	spy(k2, true)
	k2.Close() // the next call opens a spied handle
	u := v
	u.Scheduler, u.Persistence = "rr", 30
	if err := k2.UpdateService(ctx, u); !isErr(err, nil, "reads back as scheduler wlc persistence 0") {
		t.Errorf("UpdateService = %v, want a read-back mismatch", err)
	}
}

// TestKernelHang: a call that hangs returns a deadline error within the
// timeout, the handle is dropped, and the next call gets a fresh one.
func TestKernelHang(t *testing.T) {
	const timeout = 100 * time.Millisecond
	const margin = 400 * time.Millisecond
	calls := []struct {
		name string
		fn   func(ctx context.Context, k *Kernel) error
	}{
		{"read", func(ctx context.Context, k *Kernel) error { _, err := k.Services(ctx); return err }},
		{"add service", func(ctx context.Context, k *Kernel) error {
			return k.AddService(ctx, vs(t, "tcp", "192.0.2.99", "rr", 0))
		}},
		{"update real", func(ctx context.Context, k *Kernel) error {
			return k.UpdateReal(ctx, vs(t, "tcp", "192.0.2.10", "wlc", 0), dest(t, "10.0.0.1", 80, 9, "nat"))
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemory()
			k := m.Port(timeout)
			defer k.Close()
			opened := spy(k, false)
			v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
			if err := k.AddService(ctx, v); err != nil {
				t.Fatal(err)
			}
			if err := k.AddReal(ctx, v, dest(t, "10.0.0.1", 80, 1, "nat")); err != nil {
				t.Fatal(err)
			}
			closed := make(chan struct{})
			opened()[0].onClose = func() { close(closed) }

			m.SetHang(3 * timeout)
			start := time.Now()
			err := tc.fn(ctx, k)
			elapsed := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("hung call = %v, want DeadlineExceeded", err)
			}
			if elapsed < timeout || elapsed > timeout+margin {
				t.Errorf("hung call returned after %s, want about %s", elapsed, timeout)
			}
			select {
			case <-closed:
			default:
				t.Error("the hung handle was not closed")
			}

			m.SetHang(0)
			got, err := k.Services(ctx)
			if err != nil {
				t.Fatalf("call after the hang: %v", err)
			}
			if len(got) == 0 {
				t.Errorf("call after the hang read %+v", got)
			}
			if n := len(opened()); n != 2 {
				t.Errorf("%d handles opened, want 2 (a fresh one after the hang)", n)
			}
			// Let the abandoned call finish before the table goes away.
			time.Sleep(3 * timeout)
		})
	}
}

// TestKernelCancel: the caller's context bounds a call too.
func TestKernelCancel(t *testing.T) {
	m := NewMemory()
	k := m.Port(testTimeout)
	m.SetHang(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := k.Services(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 500*time.Millisecond {
		t.Errorf("Services = %v after %s, want Canceled soon", err, time.Since(start))
	}
	m.SetHang(0)
	if _, err := k.Services(context.Background()); err != nil {
		t.Errorf("after cancel: %v", err)
	}
	time.Sleep(time.Second)
}

// TestKernelSerialised runs calls from many goroutines: the handle never
// sees two at once, and every write lands.
func TestKernelSerialised(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	k := m.Port(testTimeout)
	defer k.Close()
	opened := spy(k, false)
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	if err := k.AddService(ctx, v); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := RealServer{Addr: addr(t, fmt.Sprintf("10.0.%d.%d", w, i+1)), Port: 80, Weight: 1, Forward: "nat"}
				errs <- k.AddReal(ctx, v, r)
				r.Weight = w*100 + i
				errs <- k.UpdateReal(ctx, v, r)
				_, err := k.Services(ctx)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := k.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got[0].Reals); n != workers*each {
		t.Errorf("%d reals, want %d", n, workers*each)
	}
	for _, r := range got[0].Reals {
		b := r.Addr.As4()
		if r.Weight != int(b[2])*100+int(b[3])-1 {
			t.Errorf("real %s weight %d", r.Key(), r.Weight)
		}
	}
	hs := opened()
	if len(hs) != 1 {
		t.Errorf("%d handles opened, want 1", len(hs))
	}
	for _, h := range hs {
		if n := h.maxSeen.Load(); n != 1 {
			t.Errorf("%d calls in flight at once on one handle, want 1", n)
		}
	}
}

// TestKernelOpenFails: a handle that cannot be opened is an error with
// context, and the next call tries again.
func TestKernelOpenFails(t *testing.T) {
	m := NewMemory()
	k := m.Port(testTimeout)
	open := k.open
	fail := true
	k.open = func() (handle, error) {
		if fail {
			return nil, syscall.EPROTONOSUPPORT
		}
		return open()
	}
	if _, err := k.Services(context.Background()); !isErr(err, syscall.EPROTONOSUPPORT, "ipvs: open handle") {
		t.Errorf("Services = %v, want the open error", err)
	}
	fail = false
	if _, err := k.Services(context.Background()); err != nil {
		t.Errorf("Services after the open works again: %v", err)
	}
}

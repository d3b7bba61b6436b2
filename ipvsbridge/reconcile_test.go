package ipvsbridge

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestReconcileFromEmpty(t *testing.T) {
	g := newRig(t, nil)
	v := vs(t, "tcp", "192.0.2.10", "wlc", 60)
	v6 := vs(t, "udp", "2001:db8::10", "rr", 0)
	want := []Service{
		svc(v, dest(t, "10.0.0.1", 8080, 10, "nat"), dest(t, "10.0.0.2", 8080, 0, "nat")),
		svc(v6, dest(t, "2001:db8:1::1", 80, 5, "dr")),
	}
	if g.rec.Programmed(v.Key()) {
		t.Error("programmed before any reconcile")
	}
	plan := g.reconcile(t, want...)
	wantPlan := []string{
		"add-service tcp/192.0.2.10:80",
		"add-real tcp/192.0.2.10:80 10.0.0.1:8080=10",
		"add-real tcp/192.0.2.10:80 10.0.0.2:8080=0",
		"add-service udp/[2001:db8::10]:80",
		"add-real udp/[2001:db8::10]:80 [2001:db8:1::1]:80=5",
	}
	if got := summary(plan); !reflect.DeepEqual(got, wantPlan) {
		t.Errorf("plan %q, want %q", got, wantPlan)
	}
	if got := g.table(t); !reflect.DeepEqual(got, want) {
		t.Errorf("table\n%+v\nwant\n%+v", got, want)
	}
	for _, s := range want {
		if !g.rec.Programmed(s.Key()) {
			t.Errorf("%s not programmed", s.Key())
		}
	}
	owned := g.rec.Owned()
	slices.Sort(owned)
	if !reflect.DeepEqual(owned, []string{v.Key(), v6.Key()}) {
		t.Errorf("Owned = %v", owned)
	}
	// Level-triggered: a second pass finds nothing to do.
	if plan := g.reconcile(t, want...); len(plan) != 0 {
		t.Errorf("second pass planned %v", summary(plan))
	}
}

func TestReconcileChanges(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 20, "nat")
	cases := []struct {
		name string
		next Service
		want []string
	}{
		{"weight change: update-real only", svc(v, a, dest(t, "10.0.0.2", 80, 0, "nat")),
			[]string{"update-real tcp/192.0.2.10:80 10.0.0.2:80=0"}},
		{"scheduler change: update-service only", svc(vs(t, "tcp", "192.0.2.10", "rr", 0), a, b),
			[]string{"update-service tcp/192.0.2.10:80"}},
		{"persistence change: update-service only", svc(vs(t, "tcp", "192.0.2.10", "wlc", 600), a, b),
			[]string{"update-service tcp/192.0.2.10:80"}},
		{"real added", svc(v, a, b, dest(t, "10.0.0.3", 80, 1, "nat")),
			[]string{"add-real tcp/192.0.2.10:80 10.0.0.3:80=1"}},
		{"idle real removed: drained, then deleted", svc(v, a),
			[]string{"drain-real tcp/192.0.2.10:80 10.0.0.2:80=0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, nil)
			g.reconcile(t, svc(v, a, b))
			if got := summary(g.reconcile(t, tc.next)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
			if len(tc.next.Reals) < 2 { // the removed real goes on the next pass
				if got := summary(g.reconcile(t, tc.next)); !reflect.DeepEqual(got, []string{"delete-real tcp/192.0.2.10:80 10.0.0.2:80=0"}) {
					t.Errorf("second pass %q", got)
				}
			}
			got, _ := find(g.table(t), v.Key())
			if !reflect.DeepEqual(got, tc.next) {
				t.Errorf("table %+v, want %+v", got, tc.next)
			}
			if !g.rec.Programmed(v.Key()) {
				t.Error("not programmed")
			}
		})
	}
}

func TestReconcileDrainReal(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 20, "nat")
	deleteB := []string{"delete-real tcp/192.0.2.10:80 10.0.0.2:80=0"}
	cases := []struct {
		name string
		// end acts once the drain has been kept a while; want is the plan
		// of the pass after.
		end  func(g *rig)
		want []string
	}{
		{"connections end", func(g *rig) { g.m.SetConns(v, b, 0, 0) }, deleteB},
		// The drain began 3s before end.
		{"drain timeout passes", func(g *rig) { g.clock.Advance(g.rec.DrainTimeout - 3*time.Second) }, deleteB},
		{"neither", func(g *rig) { g.clock.Advance(g.rec.DrainTimeout - 4*time.Second) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, nil)
			g.rec.DrainTimeout = time.Minute
			g.reconcile(t, svc(v, a, b))
			g.m.SetConns(v, b, 2, 5)
			want := svc(v, a)

			got := summary(g.reconcile(t, want))
			if !reflect.DeepEqual(got, []string{"drain-real tcp/192.0.2.10:80 10.0.0.2:80=0"}) {
				t.Fatalf("plan %q, want a drain", got)
			}
			tab, _ := find(g.table(t), v.Key())
			if w := weights(tab); w != "10.0.0.1:80=10/nat 10.0.0.2:80=0/nat" {
				t.Fatalf("after drain %s", w)
			}
			if !g.rec.Programmed(v.Key()) {
				t.Error("a service with a draining extra real is programmed")
			}
			for range 3 {
				g.clock.Advance(time.Second)
				if got := g.reconcile(t, want); len(got) != 0 {
					t.Fatalf("draining real with connections: plan %q, want none", summary(got))
				}
			}
			tc.end(g)
			got = summary(g.reconcile(t, want))
			if tc.want == nil {
				tc.want = []string{}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
			if len(tc.want) > 0 {
				tab, _ := find(g.table(t), v.Key())
				if !reflect.DeepEqual(tab, want) {
					t.Errorf("table %+v, want %+v", tab, want)
				}
			}
		})
	}
}

// TestReconcileDrainRealAlreadyAtZero: a real server at weight 0 (say
// unhealthy) with connections is removed; its drain is bounded by the
// drain timeout too.
func TestReconcileDrainRealAlreadyAtZero(t *testing.T) {
	g := newRig(t, nil)
	g.rec.DrainTimeout = time.Minute
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 0, "nat")
	g.reconcile(t, svc(v, a, b))
	g.m.SetConns(v, b, 1, 1)
	if p := g.reconcile(t, svc(v, a)); len(p) != 0 {
		t.Fatalf("plan %q, want none while it has connections", summary(p))
	}
	g.clock.Advance(30 * time.Second)
	if p := g.reconcile(t, svc(v, a)); len(p) != 0 {
		t.Fatalf("plan %q, want none within the drain timeout", summary(p))
	}
	g.clock.Advance(30 * time.Second)
	want := []string{"delete-real tcp/192.0.2.10:80 10.0.0.2:80=0"}
	if got := summary(g.reconcile(t, svc(v, a))); !reflect.DeepEqual(got, want) {
		t.Errorf("past the drain timeout: plan %q, want %q", got, want)
	}
}

func TestReconcileRetireService(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	keep := vs(t, "tcp", "192.0.2.11", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 0, "nat")
	cases := []struct {
		name    string
		end     func(g *rig)
		deleted bool
	}{
		{"connections end", func(g *rig) { g.m.SetConns(v, a, 0, 0) }, true},
		{"drain timeout passes", func(g *rig) { g.clock.Advance(time.Minute) }, true},
		{"neither", func(g *rig) { g.clock.Advance(time.Minute - 2*time.Second) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, nil)
			g.rec.DrainTimeout = time.Minute
			g.reconcile(t, svc(v, a, b), svc(keep, a))
			g.m.SetConns(v, a, 4, 0)

			got := summary(g.reconcile(t, svc(keep, a)))
			if want := []string{"drain-real tcp/192.0.2.10:80 10.0.0.1:80=0"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("withdraw: plan %q, want %q", got, want)
			}
			tab, _ := find(g.table(t), v.Key())
			if w := weights(tab); w != "10.0.0.1:80=0/nat 10.0.0.2:80=0/nat" {
				t.Fatalf("after withdrawal %s", w)
			}
			if g.rec.Programmed(v.Key()) {
				t.Error("a withdrawn service is still programmed")
			}
			g.clock.Advance(time.Second)
			if p := g.reconcile(t, svc(keep, a)); len(p) != 0 {
				t.Fatalf("withdrawn with connections: plan %q, want none", summary(p))
			}
			tc.end(g)
			got = summary(g.reconcile(t, svc(keep, a)))
			_, present := find(g.table(t), v.Key())
			owned := slices.Contains(g.rec.Owned(), v.Key())
			if tc.deleted {
				if want := []string{"delete-service tcp/192.0.2.10:80"}; !reflect.DeepEqual(got, want) {
					t.Errorf("plan %q, want %q", got, want)
				}
				if present || owned {
					t.Errorf("after delete: in table %v, owned %v", present, owned)
				}
			} else if len(got) != 0 || !present || !owned {
				t.Errorf("plan %q, in table %v, owned %v; want it kept", got, present, owned)
			}
			if _, ok := find(g.table(t), keep.Key()); !ok || !g.rec.Programmed(keep.Key()) {
				t.Error("the service still desired was disturbed")
			}
		})
	}
}

// TestReconcileRetireAfterEarlierDrain: draining one real of a service
// long ago must not shorten the drain when the service is withdrawn.
func TestReconcileRetireAfterEarlierDrain(t *testing.T) {
	g := newRig(t, nil)
	g.rec.DrainTimeout = time.Minute
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 10, "nat")
	g.reconcile(t, svc(v, a, b))
	g.reconcile(t, svc(v, a)) // drain b
	g.reconcile(t, svc(v, a)) // delete b, idle
	if _, ok := find(g.table(t), v.Key()); !ok {
		t.Fatal("service gone")
	}
	g.clock.Advance(time.Hour)
	g.reconcile(t, svc(v, a))
	g.m.SetConns(v, a, 3, 0)
	g.reconcile(t) // withdraw: drain a
	g.clock.Advance(time.Second)
	if p := g.reconcile(t); len(p) != 0 {
		t.Errorf("one second into the drain: plan %q, want none", summary(p))
	}
	if _, ok := find(g.table(t), v.Key()); !ok {
		t.Error("withdrawn service with connections deleted before its drain timeout")
	}
}

func TestReconcileForeignUntouched(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, nil)
	foreign := vs(t, "tcp", "192.0.2.99", "rr", 0)
	foreign6 := vs(t, "tcp", "2001:db8::99", "sh", 30)
	ours := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	// Someone else's services, written with ipvsadm as it were.
	for _, v := range []VirtualService{foreign, foreign6} {
		if err := g.port.AddService(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := g.port.AddReal(ctx, v, dest(t, "10.9.9.9", 80, 3, "dr")); err != nil {
			t.Fatal(err)
		}
	}
	before := g.table(t)

	g.reconcile(t, svc(ours, dest(t, "10.0.0.1", 80, 1, "nat")))
	g.reconcile(t) // withdraw ours: drain, then delete (idle)
	g.reconcile(t)
	if got := g.table(t); !reflect.DeepEqual(got, before) {
		t.Errorf("table\n%+v\nwant only the foreign services\n%+v", got, before)
	}
	// Nothing desired and nothing owned: nothing to do, ever.
	if p := g.reconcile(t); len(p) != 0 {
		t.Errorf("plan %q with foreign services only", summary(p))
	}
	if owned := g.rec.Owned(); len(owned) != 0 {
		t.Errorf("Owned = %v", owned)
	}
}

// TestReconcileOwnershipAcrossRestart: a reconciler given the services a
// previous run owned retires those no longer desired; one given none
// leaves them alone.
func TestReconcileOwnershipAcrossRestart(t *testing.T) {
	m := NewMemory()
	port := m.Port(testTimeout)
	defer port.Close()
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	w := vs(t, "tcp", "192.0.2.11", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	first := withReconciler(m, port, nil)
	first.reconcile(t, svc(v, a), svc(w, a))
	owned := first.rec.Owned()

	amnesiac := withReconciler(m, port, nil)
	if p := amnesiac.reconcile(t, svc(w, a)); len(p) != 0 {
		t.Errorf("a reconciler that owns nothing planned %q", summary(p))
	}

	second := withReconciler(m, port, owned)
	m.SetConns(v, a, 1, 0)
	if got := summary(second.reconcile(t, svc(w, a))); !reflect.DeepEqual(got, []string{"drain-real tcp/192.0.2.10:80 10.0.0.1:80=0"}) {
		t.Fatalf("plan %q, want the drain of the old service", got)
	}

	// Restarted again mid-drain: the drain clock starts anew and the
	// drain timeout still bounds it.
	third := withReconciler(m, port, second.rec.Owned())
	third.rec.DrainTimeout = time.Minute
	if p := third.reconcile(t, svc(w, a)); len(p) != 0 {
		t.Fatalf("plan %q, want none while it has connections", summary(p))
	}
	third.clock.Advance(time.Minute)
	if got := summary(third.reconcile(t, svc(w, a))); !reflect.DeepEqual(got, []string{"delete-service tcp/192.0.2.10:80"}) {
		t.Fatalf("past the drain timeout: plan %q, want the delete", got)
	}
	if got := third.rec.Owned(); !reflect.DeepEqual(got, []string{w.Key()}) {
		t.Errorf("Owned = %v, want only %s", got, w.Key())
	}
}

func TestReconcileRepairsDrift(t *testing.T) {
	ctx := context.Background()
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 20, "nat")
	cases := []struct {
		name  string
		drift func(p Port) error
		want  []string
	}{
		{"weight edited", func(p Port) error { x := a; x.Weight = 7; return p.UpdateReal(ctx, v, x) },
			[]string{"update-real tcp/192.0.2.10:80 10.0.0.1:80=10"}},
		{"forwarding edited", func(p Port) error { x := b; x.Forward = "dr"; return p.UpdateReal(ctx, v, x) },
			[]string{"update-real tcp/192.0.2.10:80 10.0.0.2:80=20"}},
		{"real deleted", func(p Port) error { return p.DeleteReal(ctx, v, a) },
			[]string{"add-real tcp/192.0.2.10:80 10.0.0.1:80=10"}},
		{"scheduler edited", func(p Port) error { x := v; x.Scheduler = "rr"; return p.UpdateService(ctx, x) },
			[]string{"update-service tcp/192.0.2.10:80"}},
		{"service deleted", func(p Port) error { return p.DeleteService(ctx, v) }, []string{
			"add-service tcp/192.0.2.10:80",
			"add-real tcp/192.0.2.10:80 10.0.0.1:80=10",
			"add-real tcp/192.0.2.10:80 10.0.0.2:80=20",
		}},
		{"stray real added", func(p Port) error { return p.AddReal(ctx, v, dest(t, "10.6.6.6", 80, 0, "nat")) },
			[]string{"delete-real tcp/192.0.2.10:80 10.6.6.6:80=0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newRig(t, nil)
			want := svc(v, a, b)
			g.reconcile(t, want)
			if err := tc.drift(g.m.Port(testTimeout)); err != nil {
				t.Fatal(err)
			}
			if got := summary(g.reconcile(t, want)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
			if got := g.table(t); !reflect.DeepEqual(got, []Service{want}) {
				t.Errorf("table %+v, want %+v", got, want)
			}
			if !g.rec.Programmed(v.Key()) {
				t.Error("not programmed after repair")
			}
		})
	}
}

func TestPlanIsDryRun(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, nil)
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	gone := vs(t, "tcp", "192.0.2.11", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	g.reconcile(t, svc(v, a), svc(gone, a))
	g.m.SetConns(gone, a, 1, 0)
	g.reconcile(t, svc(v, a)) // gone: drained, kept
	before := g.table(t)
	ownedBefore := g.rec.Owned()
	slices.Sort(ownedBefore)

	opened := spy(g.port, false)
	g.port.Close() // the next call opens a spied handle
	calls := g.m.Calls()
	desired := []Service{svc(v, dest(t, "10.0.0.1", 80, 99, "nat"), dest(t, "10.0.0.3", 80, 1, "nat")),
		svc(vs(t, "udp", "192.0.2.12", "rr", 0))}
	g.clock.Advance(time.Hour)
	plan, actual, err := g.rec.Plan(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.m.Calls() - calls; n != 3 { // services, and the reals of two
		t.Errorf("Plan made %d calls, want 3 reads", n)
	}
	want := []string{
		"update-real tcp/192.0.2.10:80 10.0.0.1:80=99",
		"add-real tcp/192.0.2.10:80 10.0.0.3:80=1",
		"add-service udp/192.0.2.12:80",
		"delete-service tcp/192.0.2.11:80",
	}
	if got := summary(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("plan %q, want %q", got, want)
	}
	if !reflect.DeepEqual(actual, before) {
		t.Errorf("Plan's table %+v, want %+v", actual, before)
	}
	if got := g.table(t); !reflect.DeepEqual(got, before) {
		t.Errorf("Plan changed the table to %+v", got)
	}
	for _, h := range opened() {
		for _, m := range h.Methods() {
			if m != "GetServices" && m != "GetDestinations" {
				t.Errorf("Plan called %s", m)
			}
		}
	}
	owned := g.rec.Owned()
	slices.Sort(owned)
	if !reflect.DeepEqual(owned, ownedBefore) || slices.Contains(owned, "udp/192.0.2.12:80") {
		t.Errorf("Plan changed ownership: %v, was %v", owned, ownedBefore)
	}
	if !g.rec.Programmed(v.Key()) {
		t.Error("Plan changed Programmed")
	}

	// An invalid desired state is refused before anything is read.
	calls = g.m.Calls()
	bad := []Service{svc(v, dest(t, "10.0.0.1", 80, 70000, "nat"))}
	if _, _, err := g.rec.Plan(ctx, bad); !isErr(err, nil, "weight 70000") {
		t.Errorf("Plan of weight 70000 = %v", err)
	}
	if _, err := g.rec.Reconcile(ctx, bad); !isErr(err, nil, "weight 70000") {
		t.Errorf("Reconcile of weight 70000 = %v", err)
	}
	if n := g.m.Calls() - calls; n != 0 {
		t.Errorf("an invalid desired state made %d calls", n)
	}
}

func TestProgrammedAndErrors(t *testing.T) {
	v1 := vs(t, "tcp", "192.0.2.1", "wlc", 0)
	v2 := vs(t, "tcp", "192.0.2.2", "wlc", 0)
	v3 := vs(t, "tcp", "192.0.2.3", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 20, "nat")
	desired := []Service{svc(v1, a, b), svc(v2, a, b), svc(v3, a)}
	boom := errors.New("boom")
	cases := []struct {
		name string
		fail func(op string, v VirtualService, r *RealServer) error
		// the services not programmed, and the error's words
		unprogrammed []string
		errWords     []string
	}{
		{"all good", nil, nil, nil},
		{"service add fails", func(op string, v VirtualService, r *RealServer) error {
			if op == "add-service" && v == v2 {
				return boom
			}
			return nil
		}, []string{v2.Key()}, []string{"boom"}},
		{"one real fails in two services", func(op string, v VirtualService, r *RealServer) error {
			if op == "add-real" && r.Key() == b.Key() && v != v3 {
				return errors.New("fail " + v.Key())
			}
			return nil
		}, []string{v1.Key(), v2.Key()}, []string{"fail " + v1.Key(), "fail " + v2.Key()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			k := m.Port(testTimeout)
			defer k.Close()
			g := withReconciler(m, faultPort{Port: k, fail: tc.fail}, nil)
			_, err := g.rec.Reconcile(context.Background(), desired)
			if len(tc.errWords) == 0 && err != nil {
				t.Errorf("Reconcile = %v", err)
			}
			if len(tc.errWords) > 0 && !isErr(err, nil, tc.errWords...) {
				t.Errorf("Reconcile = %v, want an error with %q", err, tc.errWords)
			}
			for _, s := range desired {
				if want := !slices.Contains(tc.unprogrammed, s.Key()); g.rec.Programmed(s.Key()) != want {
					t.Errorf("Programmed(%s) = %v, want %v", s.Key(), !want, want)
				}
				// What could be applied was.
				got, ok := find(g.table(t), s.Key())
				if slices.Contains(tc.unprogrammed, s.Key()) {
					continue
				}
				if !ok || !reflect.DeepEqual(got, s) {
					t.Errorf("%s reads %+v", s.Key(), got)
				}
			}
			if g.rec.Programmed("tcp/192.0.2.250:80") {
				t.Error("an unknown service is programmed")
			}

			// The faults clear: the next pass programs everything.
			g2 := withReconciler(m, k, g.rec.Owned())
			g2.reconcile(t, desired...)
			for _, s := range desired {
				if !g2.rec.Programmed(s.Key()) {
					t.Errorf("%s not programmed after the faults cleared", s.Key())
				}
			}
		})
	}
}

// TestProgrammedNeedsWeights: a service whose weights do not read back as
// desired is not programmed, though it exists.
func TestProgrammedNeedsWeights(t *testing.T) {
	m := NewMemory()
	k := m.Port(testTimeout)
	v := vs(t, "tcp", "192.0.2.1", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	g := withReconciler(m, faultPort{Port: k, fail: func(op string, _ VirtualService, r *RealServer) error {
		if op == "update-real" {
			return errors.New("refused")
		}
		return nil
	}}, nil)
	g.reconcile(t, svc(v, a))
	a.Weight = 20
	if _, err := g.rec.Reconcile(context.Background(), []Service{svc(v, a)}); !isErr(err, nil, "refused") {
		t.Errorf("Reconcile = %v", err)
	}
	if g.rec.Programmed(v.Key()) {
		t.Error("programmed at the old weight")
	}
}

// TestReconcileReadFails: a failed read applies nothing.
func TestReconcileReadFails(t *testing.T) {
	m := NewMemory()
	k := m.Port(50 * time.Millisecond)
	g := withReconciler(m, k, nil)
	m.SetHang(200 * time.Millisecond)
	_, err := g.rec.Reconcile(context.Background(), []Service{svc(vs(t, "tcp", "192.0.2.1", "wlc", 0))})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Reconcile = %v, want DeadlineExceeded", err)
	}
	m.SetHang(0)
	time.Sleep(300 * time.Millisecond)
	if got := g.table(t); len(got) != 0 {
		t.Errorf("table %+v", got)
	}
}

// runRig runs a reconciler in the background; desired is set with set,
// and every pass is reported on passes.
type runRig struct {
	*rig
	mu      sync.Mutex
	desired []Service
	passes  chan struct{}
	changed chan struct{}
	kick    chan struct{}
	done    chan struct{}
	cancel  context.CancelFunc
}

func startRun(t *testing.T, resync time.Duration, desired ...Service) *runRig {
	return startRunLog(t, resync, quietLog(), desired...)
}

func startRunLog(t *testing.T, resync time.Duration, log *slog.Logger, desired ...Service) *runRig {
	g := &runRig{rig: newRig(t, nil), desired: desired, passes: make(chan struct{}, 100),
		changed: make(chan struct{}, 100), kick: make(chan struct{}, 1), done: make(chan struct{})}
	g.rec.log = log
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	go func() {
		defer close(g.done)
		g.rec.Run(ctx, func() []Service {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.passes <- struct{}{}
			return slices.Clone(g.desired)
		}, g.kick, resync, func() { g.changed <- struct{}{} })
	}()
	t.Cleanup(func() {
		cancel()
		<-g.done
	})
	return g
}

func (g *runRig) set(desired ...Service) {
	g.mu.Lock()
	g.desired = desired
	g.mu.Unlock()
}

func recv(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
}

func drain(ch chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

func TestRunKick(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.1", "wlc", 0)
	w := vs(t, "tcp", "192.0.2.2", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	g := startRun(t, time.Hour, svc(v, a))
	recv(t, g.changed, "changed after the first pass")
	if !g.rec.Programmed(v.Key()) {
		t.Fatal("not programmed after the first pass")
	}

	// Same programmed set: a pass, but no changed. The kick channel holds
	// one, so the third send returns only once the first kick's pass is
	// done.
	passes := len(g.passes)
	for range 3 {
		g.kick <- struct{}{}
	}
	if len(g.passes) <= passes {
		t.Error("a kick did not start a pass")
	}
	if n := drain(g.changed); n != 0 {
		t.Errorf("changed called %d times with nothing changed", n)
	}

	// A new service: published after the kick's pass programs it.
	g.set(svc(v, a), svc(w, a))
	g.kick <- struct{}{}
	recv(t, g.changed, "changed after adding a service")
	if !g.rec.Programmed(w.Key()) {
		t.Error("new service not programmed")
	}
	if _, ok := find(g.table(t), w.Key()); !ok {
		t.Error("new service not in the table")
	}

	// Withdrawn: no longer programmed, changed again.
	g.set(svc(w, a))
	g.kick <- struct{}{}
	recv(t, g.changed, "changed after withdrawing a service")
	if g.rec.Programmed(v.Key()) {
		t.Error("withdrawn service still programmed")
	}
}

func TestRunResyncRepairsDrift(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.1", "wlc", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	g := startRun(t, 20*time.Millisecond, svc(v, a))
	recv(t, g.changed, "changed after the first pass")
	drift := a
	drift.Weight = 3
	if err := g.m.Port(testTimeout).UpdateReal(context.Background(), v, drift); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the resync to restore the weight", func() bool {
		s, _ := find(g.table(t), v.Key())
		return weights(s) == "10.0.0.1:80=10/nat"
	})
	recv(t, g.passes, "further passes")
}

func TestRunStopsOnCancel(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.1", "wlc", 0)
	g := startRun(t, time.Millisecond, svc(v))
	recv(t, g.passes, "a pass")
	g.cancel()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	drain(g.passes)
	time.Sleep(20 * time.Millisecond)
	if n := drain(g.passes); n != 0 {
		t.Errorf("%d passes after Run returned", n)
	}
}

// TestRunLogsErrors: a failing pass is logged and Run carries on.
func TestRunLogsErrors(t *testing.T) {
	var buf syncBuffer
	bad := svc(vs(t, "tcp", "192.0.2.1", "wlc", 0), dest(t, "10.0.0.1", 80, 70000, "nat"))
	g := startRunLog(t, 10*time.Millisecond, slog.New(slog.NewTextHandler(&buf, nil)), bad)
	for range 3 {
		recv(t, g.passes, "passes after a failing one")
	}
	if log := buf.String(); !strings.Contains(log, "ipvs: reconcile") || !strings.Contains(log, "weight 70000") {
		t.Errorf("log %q", log)
	}
	if n := drain(g.changed); n != 0 {
		t.Errorf("changed called %d times; nothing was programmed", n)
	}
}

// syncBuffer is a goroutine-safe strings.Builder.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package ipvsbridge

import (
	"context"
	"slices"
	"testing"
)

// TestForeignServiceAtADesiredKeyIsLeftAlone: a virtual service someone
// else made (by hand, or keepalived) at the VIP, port and protocol lbdns
// wants is not adopted: its real servers stay, it is not programmed (so
// DNS does not publish the VIP), and it never becomes ours to retire.
func TestForeignServiceAtADesiredKeyIsLeftAlone(t *testing.T) {
	g := newRig(t, nil)
	ctx := context.Background()
	v := vs(t, "tcp", "203.0.113.10", "rr", 0)
	foreign := dest(t, "10.9.0.1", 80, 7, "nat")
	if err := g.port.AddService(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := g.port.AddReal(ctx, v, foreign); err != nil {
		t.Fatal(err)
	}
	want := svc(vs(t, "tcp", "203.0.113.10", "wlc", 0), dest(t, "10.1.0.11", 80, 3, "nat"))
	plan := g.reconcile(t, want)
	if len(plan) != 0 {
		t.Fatalf("planned changes to a foreign service: %v", summary(plan))
	}
	got, ok := find(g.table(t), v.Key())
	if !ok || got.Scheduler != "rr" || len(got.Reals) != 1 || got.Reals[0].Key() != foreign.Key() || got.Reals[0].Weight != 7 {
		t.Fatalf("foreign service changed: %+v", got)
	}
	if g.rec.Programmed(v.Key()) {
		t.Error("a foreign service counts as programmed")
	}
	if slices.Contains(g.rec.Owned(), v.Key()) {
		t.Error("a foreign service became owned")
	}
	// Withdrawn from desired, it is still not retired.
	g.reconcile(t)
	if _, ok := find(g.table(t), v.Key()); !ok {
		t.Fatal("a foreign service was deleted")
	}
}

// TestUnsettledRealKeepsTheKernelWeight: after a restart, a real server
// whose first probes have not decided its health keeps the weight the
// kernel has, instead of being zeroed by its default initial state.
func TestUnsettledRealKeepsTheKernelWeight(t *testing.T) {
	g := newRig(t, nil)
	v := vs(t, "tcp", "203.0.113.20", "wlc", 0)
	g.reconcile(t, svc(v, dest(t, "10.1.0.11", 80, 5, "nat")))
	unsettled := dest(t, "10.1.0.11", 80, 0, "nat")
	unsettled.Unsettled = true
	if plan := g.reconcile(t, svc(v, unsettled)); len(plan) != 0 {
		t.Fatalf("an unsettled real server was changed: %v", summary(plan))
	}
	if !g.rec.Programmed(v.Key()) {
		t.Error("a service whose only real server is unsettled is not programmed")
	}
	if got, _ := find(g.table(t), v.Key()); got.Reals[0].Weight != 5 {
		t.Fatalf("weight %d, want the kernel's 5 kept", got.Reals[0].Weight)
	}
	settled := dest(t, "10.1.0.11", 80, 0, "nat")
	if plan := g.reconcile(t, svc(v, settled)); len(plan) != 1 || plan[0].Kind != UpdateReal {
		t.Fatalf("a settled weight 0 was not applied: %v", summary(plan))
	}
}

package ipvsbridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Reconciler defaults.
const (
	DefaultDrainTimeout = 2 * time.Minute
	DefaultResync       = 10 * time.Second
)

// Reconciler drives one director's IPVS table to the desired state: it
// reads the table, plans, applies, and reads back. It owns the virtual
// services it has been asked for (and remembers them after they are
// withdrawn, until deleted); it never touches others and never flushes.
type Reconciler struct {
	port         Port
	log          *slog.Logger
	DrainTimeout time.Duration
	now          func() time.Time

	mu         sync.Mutex
	owned      map[string]bool      // virtual service keys
	drains     map[string]time.Time // service or service|real key → when draining began
	programmed map[string]bool      // desired services read back as programmed
}

// NewReconciler returns a reconciler over port. owned lists virtual
// services a previous run created (so it can retire them after a restart).
func NewReconciler(port Port, log *slog.Logger, owned []string) *Reconciler {
	if log == nil {
		log = slog.Default()
	}
	r := &Reconciler{port: port, log: log, DrainTimeout: DefaultDrainTimeout, now: time.Now,
		owned: map[string]bool{}, drains: map[string]time.Time{}, programmed: map[string]bool{}}
	for _, k := range owned {
		r.owned[k] = true
	}
	return r
}

// Owned lists the virtual services this reconciler may change.
func (r *Reconciler) Owned() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.owned))
	for k := range r.owned {
		out = append(out, k)
	}
	return out
}

// Plan reads the table and returns what Reconcile would do (a dry run).
func (r *Reconciler) Plan(ctx context.Context, desired []Service) (Plan, []Service, error) {
	for _, s := range desired {
		if err := s.Validate(); err != nil {
			return nil, nil, err
		}
	}
	actual, err := r.port.Services(ctx)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	desired = r.mine(desired, actual)
	p := planner{
		owned:        func(k string) bool { return r.owned[k] },
		drainStarted: func(k string) (time.Time, bool) { t, ok := r.drains[k]; return t, ok },
		drainTimeout: r.DrainTimeout,
		now:          r.now(),
	}
	return p.diff(desired, actual), actual, nil
}

// mine drops from desired the virtual services that exist in the kernel
// but were not created by this reconciler (by hand, or by keepalived):
// they are someone else's, and are left alone, unprogrammed. r.mu is held.
func (r *Reconciler) mine(desired, actual []Service) []Service {
	exists := map[string]bool{}
	for _, a := range actual {
		exists[a.Key()] = true
	}
	out := desired[:0:0]
	for _, d := range desired {
		if exists[d.Key()] && !r.owned[d.Key()] {
			r.log.Warn("ipvs: virtual service exists and is not ours; leaving it alone", "service", d.Key())
			continue
		}
		out = append(out, d)
	}
	return out
}

// Reconcile applies the plan for desired and then records which desired
// services read back as programmed. It applies every action it can and
// returns the errors joined. A virtual service becomes ours when we add it.
func (r *Reconciler) Reconcile(ctx context.Context, desired []Service) (Plan, error) {
	plan, actual, err := r.Plan(ctx, desired)
	if err != nil {
		return nil, err
	}
	r.keepDrainClocks(desired, actual)
	var errs []error
	for _, a := range plan {
		if err := r.apply(ctx, a); err != nil {
			errs = append(errs, err)
			r.log.Warn("ipvs: action failed", "action", a.String(), "err", err)
			continue
		}
		r.log.Info("ipvs: "+string(a.Kind), "service", a.Service.Key(), "real", realKey(a.Real), "reason", a.Reason)
	}
	if err := r.verify(ctx, desired); err != nil {
		errs = append(errs, err)
	}
	return plan, errors.Join(errs...)
}

func realKey(rs *RealServer) string {
	if rs == nil {
		return ""
	}
	return rs.Key()
}

// apply performs one action and keeps the drain clock.
func (r *Reconciler) apply(ctx context.Context, a Action) error {
	var err error
	switch a.Kind {
	case AddService:
		err = r.port.AddService(ctx, a.Service)
		if err != nil && !errors.Is(err, ErrExists) {
			// Created but not confirmed: it is ours to retry or retire.
			r.mu.Lock()
			r.owned[a.Service.Key()] = true
			r.mu.Unlock()
		}
	case UpdateService:
		err = r.port.UpdateService(ctx, a.Service)
	case DeleteService:
		err = r.port.DeleteService(ctx, a.Service)
	case AddReal:
		err = r.port.AddReal(ctx, a.Service, *a.Real)
	case UpdateReal, DrainReal:
		err = r.port.UpdateReal(ctx, a.Service, *a.Real)
	case DeleteReal:
		err = r.port.DeleteReal(ctx, a.Service, *a.Real)
	default:
		err = fmt.Errorf("unknown action %q", a.Kind)
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch a.Kind {
	case DrainReal:
		r.drains[a.Service.Key()+"|"+a.Real.Key()] = r.now()
	case DeleteReal:
		delete(r.drains, a.Service.Key()+"|"+a.Real.Key())
	case DeleteService:
		delete(r.drains, a.Service.Key())
		delete(r.owned, a.Service.Key())
	case AddService:
		r.owned[a.Service.Key()] = true
		delete(r.drains, a.Service.Key())
	case AddReal:
		delete(r.drains, a.Service.Key())
	}
	return nil
}

// keepDrainClocks keeps one clock per drain under way, and only those: a
// withdrawn service we own, a real server no longer desired in a desired
// service. A clock starts when its drain is first seen, also when the
// weight is already 0 (an unhealthy real server removed, or a drain a
// previous run began), so the drain timeout always bounds it; and it ends
// with its drain, so a stale clock never cuts a later drain short.
func (r *Reconciler) keepDrainClocks(desired, actual []Service) {
	want := map[string]map[string]bool{}
	for _, d := range desired {
		reals := map[string]bool{}
		for _, rs := range d.Reals {
			reals[rs.Key()] = true
		}
		want[d.Key()] = reals
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	clocks := map[string]time.Time{}
	keep := func(key string) {
		t, ok := r.drains[key]
		if !ok {
			t = now
		}
		clocks[key] = t
	}
	for _, a := range actual {
		reals, wanted := want[a.Key()]
		switch {
		case !wanted && r.owned[a.Key()]:
			keep(a.Key())
		case wanted:
			for _, rs := range a.Reals {
				if !reals[rs.Key()] {
					keep(a.Key() + "|" + rs.Key())
				}
			}
		}
	}
	r.drains = clocks
}

// verify reads the table back and records which desired services are
// programmed: present with every desired real server at its weight.
func (r *Reconciler) verify(ctx context.Context, desired []Service) error {
	actual, err := r.port.Services(ctx)
	if err != nil {
		return err
	}
	got := map[string]Service{}
	for _, s := range actual {
		got[s.Key()] = s
	}
	prog := map[string]bool{}
	for _, d := range desired {
		a, ok := got[d.Key()]
		prog[d.Key()] = ok && realsMatch(d.Reals, a.Reals)
	}
	r.mu.Lock()
	r.programmed = prog
	r.mu.Unlock()
	return nil
}

func realsMatch(want, have []RealServer) bool {
	h := map[string]RealServer{}
	for _, r := range have {
		h[r.Key()] = r
	}
	for _, w := range want {
		g, ok := h[w.Key()]
		if !ok || g.Forward != w.Forward || (g.Weight != w.Weight && !w.Unsettled) {
			return false
		}
	}
	return true
}

// Programmed reports whether the virtual service read back as desired
// after the last reconcile: DNS publishes a site's VIP only then.
func (r *Reconciler) Programmed(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.programmed[key]
}

package ipvsbridge

import (
	"fmt"
	"time"
)

// ActionKind names one change to the kernel table.
type ActionKind string

// Action kinds, in the order a plan applies them.
const (
	AddService    ActionKind = "add-service"
	UpdateService ActionKind = "update-service"
	AddReal       ActionKind = "add-real"
	UpdateReal    ActionKind = "update-real"
	DrainReal     ActionKind = "drain-real"  // weight to 0, kept until its connections end
	DeleteReal    ActionKind = "delete-real" // drained and idle, or past the drain timeout
	DeleteService ActionKind = "delete-service"
)

// Action is one planned change.
type Action struct {
	Kind    ActionKind     `json:"kind"`
	Service VirtualService `json:"service"`
	Real    *RealServer    `json:"real,omitempty"`
	Reason  string         `json:"reason"`
}

func (a Action) String() string {
	s := fmt.Sprintf("%-14s %s", a.Kind, a.Service.Key())
	if a.Real != nil {
		s += fmt.Sprintf(" -> %s weight %d %s", a.Real.Key(), a.Real.Weight, a.Real.Forward)
	}
	return s + " (" + a.Reason + ")"
}

// Plan is an ordered list of actions; empty when the kernel matches.
type Plan []Action

// planner holds what Diff needs besides the two states.
type planner struct {
	owned        func(key string) bool
	drainStarted func(key string) (time.Time, bool)
	drainTimeout time.Duration
	now          time.Time
}

// diff plans how to turn actual into desired. Services not owned are never
// touched; real servers no longer desired are drained, then deleted once
// idle or past the drain timeout.
func (p planner) diff(desired, actual []Service) Plan {
	act := map[string]Service{}
	for _, s := range actual {
		act[s.Key()] = s
	}
	var plan Plan
	want := map[string]bool{}
	for _, d := range desired {
		want[d.Key()] = true
		a, exists := act[d.Key()]
		if !exists {
			plan = append(plan, Action{Kind: AddService, Service: d.VirtualService, Reason: "missing"})
		} else if a.Scheduler != d.Scheduler || a.Persistence != d.Persistence {
			plan = append(plan, Action{Kind: UpdateService, Service: d.VirtualService,
				Reason: fmt.Sprintf("scheduler %s persistence %d", a.Scheduler, a.Persistence)})
		}
		plan = append(plan, p.diffReals(d, a.Reals)...)
	}
	for _, a := range actual {
		if !want[a.Key()] && p.owned(a.Key()) {
			plan = append(plan, p.retire(a)...)
		}
	}
	return plan
}

// retire drains a service that is no longer desired (DNS has already
// stopped handing out its VIP), then deletes it once its real servers are
// idle or the drain timeout has passed.
func (p planner) retire(a Service) Plan {
	var plan Plan
	conns := 0
	for _, r := range a.Reals {
		conns += r.ActiveConns + r.InactiveConns
		if r.Weight > 0 {
			z := r
			z.Weight = 0
			plan = append(plan, Action{Kind: DrainReal, Service: a.VirtualService, Real: &z, Reason: "service withdrawn: draining"})
		}
	}
	if len(plan) > 0 {
		return plan
	}
	started, ok := p.drainStarted(a.Key())
	switch {
	case conns == 0:
		return Plan{{Kind: DeleteService, Service: a.VirtualService, Reason: "withdrawn, no connections"}}
	case ok && p.now.Sub(started) >= p.drainTimeout:
		return Plan{{Kind: DeleteService, Service: a.VirtualService,
			Reason: fmt.Sprintf("withdrawn; drain timeout %s passed with %d connections", p.drainTimeout, conns)}}
	}
	return nil
}

func (p planner) diffReals(d Service, actual []RealServer) Plan {
	var plan Plan
	act := map[string]RealServer{}
	for _, r := range actual {
		act[r.Key()] = r
	}
	want := map[string]bool{}
	for _, r := range d.Reals {
		want[r.Key()] = true
		a, ok := act[r.Key()]
		switch {
		case !ok:
			plan = append(plan, Action{Kind: AddReal, Service: d.VirtualService, Real: &r, Reason: "missing"})
		case r.Unsettled && a.Forward == r.Forward:
			// Health not known yet: keep the kernel's weight.
		case a.Weight != r.Weight || a.Forward != r.Forward:
			plan = append(plan, Action{Kind: UpdateReal, Service: d.VirtualService, Real: &r,
				Reason: fmt.Sprintf("was weight %d %s", a.Weight, a.Forward)})
		}
	}
	for _, a := range actual {
		if want[a.Key()] {
			continue
		}
		if a.Weight > 0 {
			z := a
			z.Weight = 0
			plan = append(plan, Action{Kind: DrainReal, Service: d.VirtualService, Real: &z, Reason: "removed: draining"})
			continue
		}
		conns := a.ActiveConns + a.InactiveConns
		started, ok := p.drainStarted(d.Key() + "|" + a.Key())
		switch {
		case conns == 0:
			plan = append(plan, Action{Kind: DeleteReal, Service: d.VirtualService, Real: &a, Reason: "drained, no connections"})
		case ok && p.now.Sub(started) >= p.drainTimeout:
			plan = append(plan, Action{Kind: DeleteReal, Service: d.VirtualService, Real: &a,
				Reason: fmt.Sprintf("drain timeout %s passed with %d connections", p.drainTimeout, conns)})
		}
	}
	return plan
}

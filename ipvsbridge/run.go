package ipvsbridge

import (
	"context"
	"maps"
	"time"
)

// Run reconciles desired() whenever kick fires and every resync interval
// (which repairs drift, such as an ipvsadm edit by hand, and moves drains
// along), until ctx ends. changed is called after a pass that changed which
// services are programmed, so DNS can publish or withdraw their VIPs.
func (r *Reconciler) Run(ctx context.Context, desired func() []Service, kick <-chan struct{}, resync time.Duration, changed func()) {
	if resync <= 0 {
		resync = DefaultResync
	}
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		r.mu.Lock()
		before := maps.Clone(r.programmed)
		r.mu.Unlock()
		if _, err := r.Reconcile(ctx, desired()); err != nil && ctx.Err() == nil {
			r.log.Error("ipvs: reconcile", "err", err)
		}
		r.mu.Lock()
		same := maps.Equal(before, r.programmed)
		r.mu.Unlock()
		if !same && changed != nil {
			changed()
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
	}
}

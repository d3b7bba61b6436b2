package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/lbdns/lbdns/ipvsbridge"
	"github.com/lbdns/lbdns/zones"
)

// director programs the IPVS table for the sites this host directs
// (serve --director). DNS publishes such a site's VIPs only once they are
// programmed and read back.
type director struct {
	local   []string
	rec     *ipvsbridge.Reconciler
	port    ipvsbridge.Port
	owned   string // file remembering the virtual services we created
	kick    chan struct{}
	changed chan struct{}
	log     *slog.Logger

	mu    sync.Mutex
	svcs  []zones.StoredService
	saved string // the owned list as last written
}

// directorOptions are serve's IPVS flags.
type directorOptions struct {
	sites        []string
	drainTimeout time.Duration
	resync       time.Duration
}

// newDirector opens the kernel's IPVS table, refusing a kernel without it.
func newDirector(db string, o directorOptions, log *slog.Logger) (*director, error) {
	port, err := ipvsbridge.OpenKernel()
	if err != nil {
		return nil, fmt.Errorf("serve --director %v: %w", o.sites, err)
	}
	d := &director{local: o.sites, port: port, owned: ownedPath(db), kick: make(chan struct{}, 1),
		changed: make(chan struct{}, 1), log: log}
	d.rec = ipvsbridge.NewReconciler(port, log, readOwned(d.owned, log))
	if o.drainTimeout > 0 {
		d.rec.DrainTimeout = o.drainTimeout
	}
	return d, nil
}

// run reconciles until ctx ends; see ipvsbridge.Reconciler.Run.
func (d *director) run(ctx context.Context, weights ipvsbridge.WeightsFunc, resync time.Duration) {
	d.rec.Run(ctx, func() []ipvsbridge.Service { return d.desired(weights) }, d.kick, resync, func() {
		d.saveOwned()
		wake(d.changed)
	})
	d.saveOwned()
}

// desired is called at the start of every pass; it also saves the owned
// list the previous pass left, so a retired service leaves the file too.
func (d *director) desired(weights ipvsbridge.WeightsFunc) []ipvsbridge.Service {
	d.saveOwned()
	return d.want(weights)
}

// want is the desired IPVS state for the latest services.
func (d *director) want(weights ipvsbridge.WeightsFunc) []ipvsbridge.Service {
	d.mu.Lock()
	svcs := d.svcs
	d.mu.Unlock()
	return ipvsbridge.Desired(svcs, d.local, weights)
}

// update takes the latest services and asks for a reconcile.
func (d *director) update(svcs []zones.StoredService) {
	d.mu.Lock()
	d.svcs = svcs
	d.mu.Unlock()
	wake(d.kick)
}

// published wraps a site health function: a local site is up for DNS only
// while every one of its VIPs is programmed.
func (d *director) published(svcs []zones.StoredService, health func(service, site string) (bool, string)) func(service, site string) (bool, string) {
	return func(service, site string) (bool, string) {
		if up, why := health(service, site); !up {
			return up, why
		}
		if !slices.Contains(d.local, site) {
			return true, ""
		}
		for _, ss := range svcs {
			if ss.Name != service {
				continue
			}
			for _, st := range ss.Sites {
				if st.Name != site || st.Director == nil {
					continue
				}
				for _, v := range st.VIPs {
					a, _ := netip.ParseAddr(v)
					vs := ipvsbridge.VirtualServiceFor(st.Director, a)
					if !d.rec.Programmed(vs.Key()) {
						return false, "IPVS service " + vs.Key() + " not programmed yet"
					}
				}
			}
		}
		return true, ""
	}
}

// ownedPath is the file beside the database listing the IPVS virtual
// services lbdns created there.
func ownedPath(db string) string { return db + ".ipvs" }

// readOwned reads that list; a missing or unreadable file owns nothing.
func readOwned(path string, log *slog.Logger) []string {
	var owned []string
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &owned)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("ipvs: cannot read the list of owned services; not retiring any", "file", path, "err", err)
	}
	return owned
}

// saveOwned writes the owned list when it changed since the last write.
// The lock is held across the write, so two passes cannot leave an older
// list on disk than the one recorded as saved.
func (d *director) saveOwned() {
	owned := d.rec.Owned()
	slices.Sort(owned)
	b, _ := json.Marshal(owned)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.saved == string(b) {
		return
	}
	if err := os.WriteFile(d.owned, b, 0o600); err != nil {
		d.log.Warn("ipvs: cannot save the list of owned services", "file", d.owned, "err", err)
		return
	}
	d.saved = string(b)
}

// wake sends a coalesced wake-up.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

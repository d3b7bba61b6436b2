package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/lbdns/lbdns/dnsserver"
	"github.com/lbdns/lbdns/healthcheck"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

// daemon ties the store, the health checker and the DNS server together:
// a committed change re-applies probes and recompiles the snapshot; a
// health change re-derives only the services' site states.
type daemon struct {
	store   *zones.Store
	checker *healthcheck.Checker
	srv     *dnsserver.Server
	dir     *director // nil unless serve --director
	log     *slog.Logger

	changes <-chan struct{} // the store's change feed
	unwatch func()

	mu   sync.Mutex
	svcs []zones.StoredService // as last built
	seq  uint64                // the store change the snapshot includes
}

func newDaemon(store *zones.Store, cfg dnsserver.Config, dir *director, log *slog.Logger) (*daemon, error) {
	d := &daemon{store: store, checker: healthcheck.New(log, 0), dir: dir, log: log}
	// Subscribe before the first build, so no change committed while it
	// runs (the admin API may already be up) goes unnoticed.
	d.changes, d.unwatch = store.Watch()
	snap, err := d.build()
	if err != nil {
		d.unwatch()
		d.checker.Close()
		return nil, err
	}
	d.srv = dnsserver.New(cfg, snap)
	return d, nil
}

// build starts and stops probes to match the stored services and compiles
// a snapshot of everything, whose site states come from the checker. It is
// for start-up, and for when the change log no longer reaches back.
func (d *daemon) build() (*dnsserver.Snapshot, error) {
	seq := d.store.Seq() // changes after this are replayed by refresh
	zs, err := d.store.Zones()
	if err != nil {
		return nil, err
	}
	svcs, err := d.store.Services()
	if err != nil {
		return nil, err
	}
	if err := d.useServices(svcs); err != nil {
		return nil, err
	}
	snap, err := dnsserver.Compile(zs, svcs, d.health(svcs))
	if err != nil {
		return nil, err
	}
	d.seq = seq
	return snap, nil
}

// useServices starts and stops probes and IPVS programming to match svcs.
func (d *daemon) useServices(svcs []zones.StoredService) error {
	if err := d.checker.Apply(svcs); err != nil {
		return err
	}
	d.mu.Lock()
	d.svcs = svcs
	d.mu.Unlock()
	if d.dir != nil {
		d.dir.update(svcs)
	}
	return nil
}

// refresh patches the current snapshot with what the store committed since
// the last build: a record change reloads that name, not the zone.
func (d *daemon) refresh() (*dnsserver.Snapshot, error) {
	cs, last, ok := d.store.ChangesSince(d.seq)
	if !ok {
		return d.build()
	}
	p, err := d.patchFor(cs)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	svcs := d.svcs
	d.mu.Unlock()
	snap, err := d.srv.Snapshot().Apply(p, d.health(svcs))
	if err != nil {
		return nil, err
	}
	d.seq = last
	return snap, nil
}

// patchFor reads from the store what the changes touched.
func (d *daemon) patchFor(cs []zones.Change) (dnsserver.Patch, error) {
	p := dnsserver.Patch{Zones: map[string]*zones.Zone{}, Names: map[string]map[string][]dns.RR{}}
	names := map[string][]string{}
	services := false
	for _, c := range cs {
		services = services || c.Services
		switch {
		case c.Zone == "":
		case c.Whole:
			p.Zones[c.Zone] = nil
		default:
			names[c.Zone] = append(names[c.Zone], c.Names...)
		}
	}
	for origin := range p.Zones {
		z, err := d.store.LoadZone(origin)
		if err != nil && zones.KindOf(err) != zones.KindNotFound {
			return p, err
		}
		p.Zones[origin] = z // nil when the zone is gone
	}
	for origin, ns := range names {
		if _, whole := p.Zones[origin]; whole {
			continue
		}
		recs, err := d.store.LoadNames(origin, ns)
		if zones.KindOf(err) == zones.KindNotFound {
			continue // deleted since; a later change says so
		}
		if err != nil {
			return p, err
		}
		p.Names[origin] = recs
	}
	if services {
		svcs, err := d.store.Services()
		if err != nil {
			return p, err
		}
		if err := d.useServices(svcs); err != nil {
			return p, err
		}
		p.Services = &svcs
	}
	return p, nil
}

// health is what DNS takes as a site's state: the checker's verdict and,
// for sites this host directs, whether IPVS is programmed for them.
func (d *daemon) health(svcs []zones.StoredService) dnsserver.SiteHealth {
	if d.dir == nil {
		return d.checker.SiteUp
	}
	return d.dir.published(svcs, d.checker.SiteUp)
}

// rehealth re-derives site states on the current snapshot.
func (d *daemon) rehealth() (*dnsserver.Snapshot, error) {
	d.mu.Lock()
	svcs := d.svcs
	d.mu.Unlock()
	return d.srv.Snapshot().WithHealth(d.health(svcs))
}

// run swaps in a new snapshot after every store change and health change
// until ctx ends.
func (d *daemon) run(ctx context.Context) {
	defer d.unwatch()
	changes := d.changes
	// A failed update is retried on a timer, so a passing fault (a read
	// error, say) does not leave the snapshot stale until the next change.
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var programmed chan struct{}
	if d.dir != nil {
		programmed = d.dir.changed
	}
	for {
		var snap *dnsserver.Snapshot
		var err error
		start := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-changes:
			snap, err = d.refresh()
		case <-retry.C:
			snap, err = d.refresh()
		case <-d.checker.Changes():
			snap, err = d.rehealth()
			if d.dir != nil {
				wake(d.dir.kick) // weights follow health
			}
		case <-programmed:
			snap, err = d.rehealth()
		}
		if err != nil {
			d.log.Error("snapshot not updated; retrying in a second", "err", err)
			retry.Reset(time.Second)
			continue
		}
		d.srv.Swap(snap)
		d.log.Debug("snapshot updated", "zones", len(snap.Zones()), "took", time.Since(start))
	}
}

// adminMux serves the admin API, with /metrics beside it.
func (d *daemon) adminMux(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		d.srv.Metrics.WritePrometheus(w)
		d.checker.WritePrometheus(w)
	})
	mux.Handle("/", adminapi.NewHandler(d.store, token, d.log,
		adminapi.WithServices(d.store),
		adminapi.WithRoute("GET /v1/explain", explainHandler(d.srv)),
		adminapi.WithRoute("GET /v1/ipvs/plan", d.ipvsPlanHandler),
		adminapi.WithRoute("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(d.checker.Status())
		}),
	))
	return mux
}

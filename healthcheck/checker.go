package healthcheck

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// DefaultConcurrency bounds how many probes run at once.
const DefaultConcurrency = 256

// Checker probes targets and keeps their health. One goroutine per target
// sleeps between probes; a semaphore bounds how many probe at once, so a
// hung target costs its own timeout and nothing more.
type Checker struct {
	log     *slog.Logger
	sem     chan struct{}
	changed chan struct{} // coalesced: some site or target changed state
	Metrics Metrics

	mu      sync.Mutex
	runners map[string]*runner   // by Target.Key
	sites   map[siteKey]*siteRec // every site of every applied service
}

// runner is one target's probe loop and state.
type runner struct {
	t      Target
	probe  prober
	cancel context.CancelFunc
	done   chan struct{}
	st     targetState // guarded by Checker.mu
}

// targetState is a target's hysteresis state.
type targetState struct {
	up          bool
	since       time.Time
	successes   int // consecutive
	failures    int // consecutive
	probes      uint64
	lastProbe   time.Time
	lastErr     string
	lastLatency time.Duration
}

// New returns a checker running at most concurrency probes at once.
func New(log *slog.Logger, concurrency int) *Checker {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	if log == nil {
		log = slog.Default()
	}
	return &Checker{
		log:     log,
		sem:     make(chan struct{}, concurrency),
		changed: make(chan struct{}, 1),
		runners: map[string]*runner{},
		sites:   map[siteKey]*siteRec{},
	}
}

// Changes signals (coalesced) after any target or site changes state.
func (c *Checker) Changes() <-chan struct{} { return c.changed }

// Apply makes the running probes match the services: new targets start,
// removed or changed ones stop (and are waited for), unchanged ones keep
// their state.
func (c *Checker) Apply(svcs []zones.StoredService) error {
	want := map[string]Target{}
	sites := map[siteKey]*siteRec{}
	for _, ss := range svcs {
		ts, err := Targets(ss)
		if err != nil {
			return err
		}
		for _, t := range ts {
			want[t.Key()] = t
		}
		for _, site := range ss.Sites {
			sites[siteKey{ss.Name, site.Name}] = newSiteRec(ss, site, ts)
		}
	}
	c.mu.Lock()
	var stop []*runner
	for k, r := range c.runners {
		if t, ok := want[k]; !ok || !t.Spec.equal(r.t.Spec) || t.Probe != r.t.Probe || t.Initial != r.t.Initial {
			stop = append(stop, r)
			delete(c.runners, k)
		}
	}
	now := time.Now()
	for k, t := range want {
		if r, ok := c.runners[k]; ok {
			r.t = t // weight and the like may change without a restart
			continue
		}
		r := &runner{t: t, probe: proberFor(t.Spec), done: make(chan struct{}), st: targetState{up: t.Initial, since: now}}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		c.runners[k] = r
		go c.loop(ctx, r, t)
	}
	for k, s := range sites {
		if old, ok := c.sites[k]; ok {
			s.up, s.since, s.reason = old.up, old.since, old.reason
		} else {
			s.since = now
		}
	}
	c.sites = sites
	c.recomputeLocked(now)
	c.mu.Unlock()
	for _, r := range stop {
		r.cancel()
		<-r.done
	}
	c.notify()
	return nil
}

// Close stops every probe and waits for them.
func (c *Checker) Close() { c.Apply(nil) }

// loop probes r until ctx ends. The first probe comes within a second
// (spread so that many targets do not fire together), then every interval
// plus jitter. It probes its own copy t of the target: Apply may update
// r.t (weights) under c.mu while a probe runs.
func (c *Checker) loop(ctx context.Context, r *runner, t Target) {
	defer close(r.done)
	spec := t.Spec
	timer := time.NewTimer(randDuration(min(spec.Interval, time.Second)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		select {
		case <-ctx.Done():
			return
		case c.sem <- struct{}{}:
		}
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, spec.Timeout)
		err := r.probe(pctx, &t)
		cancel()
		<-c.sem
		if ctx.Err() != nil {
			return // stopped mid-probe: the result belongs to no one
		}
		c.record(r, err, time.Since(start))
		timer.Reset(spec.Interval + randDuration(spec.Jitter))
	}
}

func randDuration(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// record applies one probe result with rise/fall hysteresis.
func (c *Checker) record(r *runner, err error, took time.Duration) {
	now := time.Now()
	c.mu.Lock()
	c.Metrics.probe(r.t.Spec.Kind, err == nil, took)
	st := &r.st
	st.probes++
	st.lastProbe, st.lastLatency = now, took
	changed := false
	if err == nil {
		st.successes++
		st.failures = 0
		st.lastErr = ""
		if !st.up && st.successes >= r.t.Spec.Rise {
			st.up, st.since, changed = true, now, true
		}
	} else {
		st.failures++
		st.successes = 0
		st.lastErr = err.Error()
		if st.up && st.failures >= r.t.Spec.Fall {
			st.up, st.since, changed = false, now, true
		}
	}
	if changed {
		c.Metrics.transition(st.up)
		c.log.Info("health: target "+upDown(st.up), "service", r.t.Service, "site", r.t.Site,
			"server", r.t.Server, "probe", r.t.Probe, "kind", r.t.Spec.Kind, "last_error", st.lastErr)
	}
	// A target affects only its own site. A down target's last error is
	// part of the site's reason, so refresh it even without a transition.
	if changed || !st.up {
		c.recomputeSiteLocked(siteKey{r.t.Service, r.t.Site}, now)
	}
	c.mu.Unlock()
	if changed {
		c.notify()
	}
}

func (c *Checker) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

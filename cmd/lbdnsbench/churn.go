package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// churnStats is what the zone-change loop did during a run.
type churnStats struct {
	changes, failed int
	slowest         time.Duration // longest CLI command, start to exit
	serialDelta     uint32        // how far the served SOA serial moved
	firstErr        string
}

// churner changes the bench zone once per interval through the lbdns CLI
// while the server is under load: it adds a record, then deletes it on the
// next tick. Each change is a committed transaction, so the server builds
// and swaps in a new snapshot every second, which is what the fixed-rate
// run is meant to stress.
type churner struct {
	cancel context.CancelFunc
	done   chan churnStats
}

// startChurn begins changing the zone; tag keeps names unique across runs.
func startChurn(ctx context.Context, lb lbdnsCLI, interval time.Duration, tag string) *churner {
	ctx, cancel := context.WithCancel(ctx)
	c := &churner{cancel: cancel, done: make(chan churnStats, 1)}
	go func() { c.done <- churnLoop(ctx, lb, interval, tag) }()
	return c
}

// stop ends the loop after the change in progress and returns its stats.
func (c *churner) stop() churnStats {
	c.cancel()
	return <-c.done
}

func churnLoop(ctx context.Context, lb lbdnsCLI, interval time.Duration, tag string) churnStats {
	var st churnStats
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return st
		case <-t.C:
		}
		name := fmt.Sprintf("churn-%s-%d.%s", tag, i/2, benchOrigin)
		args := []string{"record", "add", name, "A", v4At(1<<17 - 1 - i/2).String(), "--ttl", "60"}
		if i%2 == 1 {
			args = []string{"record", "delete", name, "A"}
		}
		start := time.Now()
		// The context is not ctx: a change under way finishes rather than
		// being killed halfway when the run ends.
		_, err := lb.run(context.WithoutCancel(ctx), args...)
		st.slowest = max(st.slowest, time.Since(start))
		st.changes++
		if err != nil {
			st.failed++
			if st.firstErr == "" {
				st.firstErr = strings.TrimSpace(err.Error())
			}
		}
	}
}

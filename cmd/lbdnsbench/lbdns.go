package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// lbdnsCLI runs the lbdns binary against one database, as an operator
// would. While `lbdns serve` holds the database, the same commands go
// through its admin API, which is what the churn run relies on.
type lbdnsCLI struct {
	bin, db string
	// pin is the command prefix that keeps commands off the server's
	// core; with -rt it also gives them dnsperf's priority, without which
	// they would wait seconds behind it.
	pin []string
}

// run runs one lbdns command, bounded to 30 seconds.
func (l lbdnsCLI) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	argv := append(slices.Concat(l.pin, []string{l.bin, "--db", l.db}), args...)
	return runCmd(ctx, argv...)
}

// prepareDB imports the bench zone and applies the services into a new
// database in f.dir, before the server starts.
func prepareDB(ctx context.Context, bin string, f benchFiles, pin []string) (lbdnsCLI, error) {
	l := lbdnsCLI{bin: bin, db: filepath.Join(f.dir, "lbdns.db"), pin: pin}
	if _, err := l.run(ctx, "zone", "import", strings.TrimSuffix(benchOrigin, "."), f.zone); err != nil {
		return l, err
	}
	if _, err := l.run(ctx, "service", "apply", "-f", f.services); err != nil {
		return l, err
	}
	return l, nil
}

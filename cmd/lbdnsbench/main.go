// Command lbdnsbench measures lbdns against NSD with dnsperf on this
// machine: static answers, NXDOMAIN, the load-balancing policies with EDNS
// Client Subnet from thousands of client networks, and a fixed-rate run
// while the zone changes every second. It prints one table of medians.
//
// Everything runs on loopback. Both servers share one pinned core and
// dnsperf gets the other, so CPU time per query, read from /proc, compares
// the servers even when dnsperf, not the server, limits QPS.
//
//	lbdnsbench [-duration 15s] [-reps 3] [-rate 50000] [-rate-duration 60s] [-rt] [-o FILE]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	lbdnsBin             string
	duration             time.Duration // each closed-loop run
	rate                 int           // fixed-rate run's offered QPS
	rateDuration         time.Duration // fixed-rate run's length; 0 skips it
	reps                 int
	out                  string
	names                int // owner names in the bench zone
	prefixes             int // distinct ECS client networks
	queriesPerFile       int
	clients, outstanding int // dnsperf -c, -q
	serverCPU, clientCPU int
	rt                   bool // run the servers and dnsperf under SCHED_FIFO
	keep                 bool
	timeout              time.Duration
}

func parseFlags() (config, error) {
	var c config
	flag.StringVar(&c.lbdnsBin, "lbdns", "bin/lbdns", "lbdns binary to benchmark")
	flag.DurationVar(&c.duration, "duration", 15*time.Second, "length of each closed-loop run")
	flag.IntVar(&c.rate, "rate", 50000, "offered QPS of the fixed-rate run")
	flag.DurationVar(&c.rateDuration, "rate-duration", 60*time.Second, "length of the fixed-rate run with zone changes (0 skips it)")
	flag.IntVar(&c.reps, "reps", 3, "repetitions of every run; the table shows medians")
	flag.StringVar(&c.out, "o", "", "also write the table as Markdown to this `FILE`")
	flag.IntVar(&c.names, "names", 10000, "owner names in the bench zone")
	flag.IntVar(&c.prefixes, "prefixes", 4096, "distinct client networks sent as ECS (at most 16384)")
	flag.IntVar(&c.queriesPerFile, "queries", 100000, "queries in each query file (dnsperf loops over it)")
	flag.IntVar(&c.clients, "c", 8, "dnsperf clients (-c)")
	flag.IntVar(&c.outstanding, "q", 100, "dnsperf outstanding queries (-q)")
	flag.IntVar(&c.serverCPU, "server-cpu", 1, "CPU the servers are pinned to")
	flag.IntVar(&c.clientCPU, "client-cpu", 0, "CPU dnsperf is pinned to")
	flag.BoolVar(&c.rt, "rt", false, "run the servers and dnsperf under SCHED_FIFO (needs root): on a busy machine the numbers then measure the servers, not the scheduler, but other work on both CPUs nearly stops while it runs")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary folder (zone, query files, logs)")
	flag.DurationVar(&c.timeout, "timeout", 0, "give up after this long (0: from the durations)")
	flag.Parse()
	if flag.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	return c, c.validate()
}

// validate refuses settings that would measure nothing meaningful.
func (c *config) validate() error {
	switch {
	case c.duration < time.Second:
		return errors.New("-duration must be at least 1s")
	case c.rateDuration != 0 && (c.rateDuration < time.Second || c.rate <= 0):
		return errors.New("-rate-duration must be 0 or at least 1s, with -rate > 0")
	case c.reps < 1:
		return errors.New("-reps must be at least 1")
	case c.names < 100:
		return errors.New("-names must be at least 100")
	case c.prefixes < 1 || c.prefixes > 16384:
		return errors.New("-prefixes must be 1..16384")
	case c.queriesPerFile < 1000:
		return errors.New("-queries must be at least 1000")
	case c.serverCPU == c.clientCPU:
		return errors.New("-server-cpu and -client-cpu must differ")
	}
	bin, err := filepath.Abs(c.lbdnsBin)
	if err != nil {
		return err
	}
	c.lbdnsBin = bin
	if c.timeout == 0 {
		c.timeout = c.defaultTimeout()
	}
	return nil
}

// pin is the command prefix that runs a measured process on cpu, and with
// -rt at a real-time priority. Both servers get the same, so neither is
// favoured.
//
// Why -rt exists: on a machine shared with other work, a server that
// sleeps in epoll between batches (NSD, and dnsperf itself) waits a
// scheduler slice behind whatever else runs on its CPU at each wake-up,
// while Go's scheduler spins before parking and so keeps its CPU. Measured
// here under load, that alone cut NSD's QPS by more than half; under
// SCHED_FIFO a wake-up preempts at once. The kernel's real-time throttling
// (by default 95% of each second) keeps the rest of the machine alive.
func (c *config) pin(cpu int) []string {
	p := []string{"taskset", "-c", strconv.Itoa(cpu)}
	if c.rt {
		p = append(p, "chrt", "-f", "10")
	}
	return p
}

// defaultTimeout bounds the whole benchmark: every run plus generous
// slack for dnsperf's final wait, server start-up and pauses.
func (c *config) defaultTimeout() time.Duration {
	perRep := time.Duration(len(closedLoopRuns(*c)))*(c.duration+25*time.Second) + c.rateDuration + 40*time.Second
	return time.Duration(c.reps)*perRep + 3*time.Minute
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lbdnsbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	err = run(ctx, cfg)
	cancel()
	stop()
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "lbdnsbench: interrupted; every process it started is stopped")
		os.Exit(130)
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(os.Stderr, "lbdnsbench: gave up after %s (-timeout); every process it started is stopped\n", cfg.timeout)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "lbdnsbench:", err)
		os.Exit(1)
	}
}

// run prepares the inputs, starts both servers, measures every run and
// prints the table. Every process it starts is stopped before it returns.
func run(ctx context.Context, cfg config) error {
	began := time.Now()
	env, err := checkEnvironment(cfg)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lbdnsbench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		defer fmt.Fprintln(os.Stderr, "kept", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b, err := setup(ctx, cfg, dir)
	if b != nil {
		defer b.procs.stopAll()
	}
	if err != nil {
		return err
	}
	rows, err := b.measureAll(ctx)
	if err != nil {
		return err
	}
	env.loadEnd = loadAverage()
	return report(cfg, env, rows, time.Since(began))
}

// setup writes the inputs, builds the lbdns database and starts the
// servers, checking they answer alike before anything is measured.
func setup(ctx context.Context, cfg config, dir string) (*bench, error) {
	progress("generating zone, GeoIP database, services and query files in %s", dir)
	files, err := prepareFiles(dir, cfg)
	if err != nil {
		return nil, err
	}
	lb, err := prepareDB(ctx, cfg.lbdnsBin, files, cfg.pin(cfg.clientCPU))
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, files: files, lb: lb, servers: map[string]*server{}, procs: &procSet{}}
	if b.servers[serverNSD], err = startNSD(ctx, b.procs, files, cfg.pin(cfg.serverCPU)); err != nil {
		return b, err
	}
	if b.servers[serverLBDNS], err = startLBDNS(ctx, b.procs, lb, files.geoip, cfg.pin(cfg.serverCPU)); err != nil {
		return b, err
	}
	progress("NSD (pid %d) on %s, lbdns (pid %d) on %s; checking answers",
		b.servers[serverNSD].pid(), b.servers[serverNSD].addr, b.servers[serverLBDNS].pid(), b.servers[serverLBDNS].addr)
	return b, b.checkAnswers()
}

// measureAll runs every spec cfg.reps times, interleaved (all runs once,
// then again), so slow drift in the machine's load spreads over every row
// instead of landing on one.
func (b *bench) measureAll(ctx context.Context) ([]row, error) {
	specs := runSpecs(b.cfg)
	rows := make([]row, len(specs))
	for rep := 1; rep <= b.cfg.reps; rep++ {
		for i, spec := range specs {
			rows[i].spec = spec
			s, err := b.measure(ctx, spec, rep)
			if ctx.Err() != nil {
				return nil, ctx.Err() // dnsperf was stopped, not failing
			}
			if err != nil {
				return nil, err
			}
			rows[i].samples = append(rows[i].samples, s)
			progress("[%d/%d] %-40s %8.0f QPS %7.2f µs/query  p99 %s  lost %d  dnsperf %s",
				rep, b.cfg.reps, spec.label, s.qps, s.cpuPerQuery, latency(float64(s.p99)), s.lost, percent(s.clientLoad))
			// Let sockets drain and the kernel settle between runs.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	return rows, nil
}

// report prints the table and notes, and writes them to cfg.out if set.
func report(cfg config, env environment, rows []row, took time.Duration) error {
	text := table(rows) + "\n"
	for _, n := range notes(cfg, env, rows) {
		text += "- " + n + "\n"
	}
	text += fmt.Sprintf("- Total time %s.\n", took.Round(time.Second))
	fmt.Print("\n" + text)
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(text), 0o644)
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// environment describes the machine the numbers come from.
type environment struct {
	cpus, dnsperf, nsd string
	loadStart, loadEnd string
}

// checkEnvironment finds every tool the benchmark needs before anything
// starts, so a missing one fails in a second, not after minutes of runs.
func checkEnvironment(cfg config) (environment, error) {
	var env environment
	tools := []string{"taskset", "dnsperf"}
	if cfg.rt {
		tools = append(tools, "chrt")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return env, fmt.Errorf("%s not found (Debian packages util-linux, dnsperf; `make bench` installs dnsperf)", tool)
		}
	}
	nsd, err := findNSD()
	if err != nil {
		return env, err
	}
	if _, err := os.Stat(cfg.lbdnsBin); err != nil {
		return env, fmt.Errorf("lbdns binary: %w (make build)", err)
	}
	if n := runtime.NumCPU(); max(cfg.serverCPU, cfg.clientCPU) >= n {
		return env, fmt.Errorf("CPUs %d and %d are needed; this machine has %d", cfg.serverCPU, cfg.clientCPU, n)
	}
	env.cpus = fmt.Sprintf("%d CPUs", runtime.NumCPU())
	env.dnsperf = "dnsperf " + versionOf(`Version (\S+)`, "dnsperf", "-H")
	env.nsd = "NSD " + versionOf(`NSD version (\S+)`, nsd, "-v")
	env.loadStart = loadAverage()
	if l, _ := strconv.ParseFloat(env.loadStart, 64); l > 1 && !cfg.rt {
		progress("load average %s: other work shares these CPUs and will skew QPS; -rt measures the servers instead", env.loadStart)
	}
	return env, nil
}

// versionOf runs a tool's version option and extracts the version.
func versionOf(pattern string, argv ...string) string {
	out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if m := regexp.MustCompile(pattern).FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return "(unknown version)"
}

// loadAverage is the 1-minute load average: on a shared machine, the
// first thing to check when numbers look off.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

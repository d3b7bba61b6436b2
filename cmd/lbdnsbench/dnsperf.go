package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfArgs is one dnsperf invocation.
type perfArgs struct {
	server    string // host:port
	queryFile string // binary (-B) format
	clients   int    // -c
	maxOut    int    // -q
	duration  time.Duration
	rate      int      // -Q; 0 = as fast as the server answers
	pin       []string // command prefix: taskset, chrt
	outPath   string   // where its stdout goes
}

// perfResult is what one dnsperf run measured.
type perfResult struct {
	sent, completed, lost uint64
	qps                   float64
	runTime               time.Duration
	avgLatency, p99       time.Duration
	rcodes                map[string]uint64
	clientCPU             time.Duration // dnsperf's own user+system time
}

// runDNSPerf runs dnsperf pinned to a.cpu and parses its output.
//
// p99 comes from verbose mode (-v), since this dnsperf (2.10) has no
// latency histogram option (-O latency-histogram came later) and its
// summary gives only the mean and standard deviation. -v prints one line
// per response with its latency; it goes to a file and is read after the
// run, so parsing costs nothing while the server is measured. Per-query
// timeout messages are suppressed: lost queries are counted in the summary.
func runDNSPerf(ctx context.Context, a perfArgs) (perfResult, error) {
	host, port, err := net.SplitHostPort(a.server)
	if err != nil {
		return perfResult{}, err
	}
	argv := append(slices.Clip(a.pin), "dnsperf", "-B", "-v",
		"-s", host, "-p", port, "-d", a.queryFile,
		"-c", strconv.Itoa(a.clients), "-q", strconv.Itoa(a.maxOut),
		"-l", strconv.FormatFloat(a.duration.Seconds(), 'f', -1, 64),
		"-O", "suppress=timeouts,congestion,sendfailed,sockready,unexpected")
	if a.rate > 0 {
		argv = append(argv, "-Q", strconv.Itoa(a.rate))
	}
	// dnsperf waits up to its query timeout (5 s) for the last answers.
	ctx, cancel := context.WithTimeout(ctx, a.duration+30*time.Second)
	defer cancel()
	out, err := os.Create(a.outPath)
	if err != nil {
		return perfResult{}, err
	}
	defer os.Remove(a.outPath)
	defer out.Close()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, &stderr
	setGroupKill(cmd)
	if err := cmd.Run(); err != nil {
		return perfResult{}, fmt.Errorf("dnsperf: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return perfResult{}, err
	}
	r, err := parseDNSPerf(out)
	if err != nil {
		return r, fmt.Errorf("dnsperf output: %w", err)
	}
	r.clientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return r, nil
}

// parseDNSPerf reads dnsperf's verbose output: "> RCODE ... LATENCY" per
// response and the statistics block at the end.
func parseDNSPerf(rd io.Reader) (perfResult, error) {
	r := perfResult{rcodes: map[string]uint64{}}
	var lat []uint32 // µs, one per response
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "> ") {
			if us, ok := responseLatency(line); ok {
				lat = append(lat, us)
			}
			continue
		}
		if err := r.parseStat(strings.TrimSpace(line)); err != nil {
			return r, err
		}
	}
	if err := sc.Err(); err != nil {
		return r, err
	}
	if r.runTime == 0 {
		return r, fmt.Errorf("no statistics block")
	}
	r.p99 = percentile(lat, 0.99)
	return r, nil
}

// responseLatency reads the latency (seconds, last field) of a verbose
// response line; timed-out queries ("> T ...") have none.
func responseLatency(line string) (uint32, bool) {
	f := strings.Fields(line)
	if len(f) < 3 || f[1] == "T" || f[1] == "I" {
		return 0, false
	}
	s, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return 0, false
	}
	return uint32(s*1e6 + 0.5), true
}

// parseStat fills r from one line of the statistics block, if it is one.
func (r *perfResult) parseStat(line string) error {
	key, val, ok := strings.Cut(line, ":")
	if !ok {
		return nil
	}
	val = strings.TrimSpace(val)
	first, _, _ := strings.Cut(val, " ")
	var err error
	switch key {
	case "Queries sent":
		r.sent, err = strconv.ParseUint(first, 10, 64)
	case "Queries completed":
		r.completed, err = strconv.ParseUint(first, 10, 64)
	case "Queries lost":
		r.lost, err = strconv.ParseUint(first, 10, 64)
	case "Queries per second":
		r.qps, err = strconv.ParseFloat(first, 64)
	case "Run time (s)":
		r.runTime, err = seconds(first)
	case "Average Latency (s)":
		r.avgLatency, err = seconds(first)
	case "Response codes":
		err = r.parseRcodes(val)
	}
	if err != nil {
		return fmt.Errorf("%q: %w", line, err)
	}
	return nil
}

// parseRcodes reads "NOERROR 18561 (50.00%), NXDOMAIN 18560 (50.00%)".
func (r *perfResult) parseRcodes(val string) error {
	for part := range strings.SplitSeq(val, ",") {
		f := strings.Fields(part)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return err
		}
		r.rcodes[f[0]] += n
	}
	return nil
}

func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Second)), err
}

// percentile is the nearest-rank p-quantile of latencies in µs; it sorts
// lat in place.
func percentile(lat []uint32, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	i := int(p*float64(len(lat))+0.999999) - 1
	i = min(max(i, 0), len(lat)-1)
	return time.Duration(lat[i]) * time.Microsecond
}

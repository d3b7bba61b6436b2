package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc (USER_HZ). It is read
// once from getconf because Go has no sysconf; every Linux build this runs
// on uses 100, which is also the fallback.
var clockTick = func() time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if hz, e := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && e == nil && hz > 0 {
		return time.Second / time.Duration(hz)
	}
	return 10 * time.Millisecond
}()

// procStat is the part of /proc/PID/stat the benchmark uses.
type procStat struct {
	pgrp         int
	utime, stime uint64 // clock ticks, all threads of the process
}

// parseProcStat reads a /proc/PID/stat line. The command name (field 2) is
// in parentheses and may itself hold spaces or parentheses, so fields are
// counted from the last ')'.
func parseProcStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat line without ')': %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("short stat line: %q", line)
	}
	var s procStat
	var err error
	if s.pgrp, err = strconv.Atoi(f[5-3]); err != nil {
		return s, err
	}
	if s.utime, err = strconv.ParseUint(f[14-3], 10, 64); err != nil {
		return s, err
	}
	s.stime, err = strconv.ParseUint(f[15-3], 10, 64)
	return s, err
}

// groupMembers lists the live processes in process group pgid. Servers are
// started as group leaders, and NSD does its work in forked children, so
// the group, not the PID, is what a server costs.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if s, err := parseProcStat(string(b)); err == nil && s.pgrp == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// groupCPU is the user+system CPU time, in clock ticks, of every live
// process in group pgid.
func groupCPU(pgid int) uint64 {
	var ticks uint64
	for _, pid := range groupMembers(pgid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if s, err := parseProcStat(string(b)); err == nil {
			ticks += s.utime + s.stime
		}
	}
	return ticks
}

// groupRSS is the largest VmRSS, in KiB, of the processes in group pgid.
// Not the sum: NSD's children are forks that share the zone's pages with
// their parent, and adding them up would count the zone three times. For
// lbdns (one process) it is simply its VmRSS.
func groupRSS(pgid int) uint64 {
	var most uint64
	for _, pid := range groupMembers(pgid) {
		most = max(most, vmRSS(pid))
	}
	return most
}

// vmRSS reads VmRSS (KiB) from /proc/PID/status; 0 if unreadable.
func vmRSS(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// cpuProcTicks returns, per CPU, the time /proc/stat shows spent in
// processes (user, nice and system, in clock ticks). Interrupt and softirq
// time is left out because the kernel charges it to no process, so it
// cannot be told apart from the server's own packet handling.
func cpuProcTicks() (map[int]uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	out := map[int]uint64{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			continue
		}
		for _, s := range f[1:4] {
			v, _ := strconv.ParseUint(s, 10, 64)
			out[n] += v
		}
	}
	return out, nil
}

// ticksToMicros converts clock ticks to microseconds.
func ticksToMicros(ticks uint64) float64 {
	return float64(ticks) * float64(clockTick) / float64(time.Microsecond)
}

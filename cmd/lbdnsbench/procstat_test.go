package main

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	// A command name with a space and a parenthesis, as NSD's are not but
	// any process's may be.
	line := "4242 (nsd: serv) er) S 4241 4240 4240 0 -1 4194560 1 0 0 0 123 45 0 0 20 0 1 0 100 1000 10"
	s, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.pgrp != 4240 || s.utime != 123 || s.stime != 45 {
		t.Errorf("got %+v, want pgrp 4240, utime 123, stime 45", s)
	}
	if _, err := parseProcStat("4242 (x S 1"); err == nil {
		t.Error("truncated line parsed")
	}
}

// TestOwnGroup reads this test process's own group: it is a member, and
// it has used some CPU and memory.
func TestOwnGroup(t *testing.T) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	s, err := parseProcStat(string(b))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pid := range groupMembers(s.pgrp) {
		found = found || pid == os.Getpid()
	}
	if !found {
		t.Errorf("pid %d not among group %d's members", os.Getpid(), s.pgrp)
	}
	if groupRSS(s.pgrp) == 0 {
		t.Error("group RSS is 0")
	}
	ticks, err := cpuProcTicks()
	if err != nil || len(ticks) == 0 {
		t.Errorf("cpuProcTicks: %v, %v", ticks, err)
	}
}

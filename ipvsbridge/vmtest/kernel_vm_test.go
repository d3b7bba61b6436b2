//go:build vm

package vmtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lbdns/lbdns/ipvsbridge"
)

// TestKernelIPVS checks that the VM's kernel really has IPVS, the way the
// port and doctor probe for it: every other test relies on this.
func TestKernelIPVS(t *testing.T) {
	requireIPVS(t)
	k, err := ipvsbridge.OpenKernel()
	if err != nil {
		t.Fatalf("OpenKernel: %v", err)
	}
	k.Close()
	for _, c := range ipvsbridge.Doctor("/proc", []string{"nat"}) {
		if strings.HasPrefix(c.Name, "IPVS in the kernel") && c.Status != "ok" {
			t.Errorf("doctor: %s: got %s", c.Name, c.Got)
		}
		if c.Got == "missing" {
			t.Errorf("doctor: sysctl %s is missing with ip_vs loaded", c.Name)
		}
	}
	out := ipvsadm(t, "", "-Ln")
	if !strings.HasPrefix(out, "IP Virtual Server version") {
		t.Fatalf("ipvsadm -Ln: %q", out)
	}
	t.Logf("ipvsadm -Ln: %s", strings.SplitN(out, "\n", 2)[0])
}

// TestReconcilerKernel drives the reconciler against the kernel's table
// (the VM's own network namespace) through every kind of change, checking
// each step against ipvsadm and against the port's own read-back.
func TestReconcilerKernel(t *testing.T) {
	requireIPVS(t)
	// The kernel refuses a real server it has no route to: a dummy
	// interface gives the real servers' networks one.
	t.Cleanup(func() {
		tryRun(nil, "ipvsadm", "-D", "-t", "10.98.0.20:443")
		tryRun(nil, "ipvsadm", "-D", "-f", "7")
		tryRun(nil, "ip", "link", "del", "lbvm0")
	})
	ipBatch(t, "", "link add lbvm0 type dummy", "link set lbvm0 up",
		"addr add 10.99.0.1/24 dev lbvm0", "addr add 2001:db8:99::1/64 dev lbvm0 nodad")
	if got := ipvsTable(t, ""); len(got) != 0 {
		t.Fatalf("the VM's IPVS table is not empty at the start:\n%s", dumpTable(got))
	}

	port, err := ipvsbridge.OpenKernel()
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec := ipvsbridge.NewReconciler(port, slog.New(slog.NewTextHandler(tlog{t}, nil)), nil)

	// check compares the table, as ipvsadm shows it and as the port reads
	// it back, with want.
	check := func(step string, want ...ipvsbridge.Service) {
		t.Helper()
		adm := ipvsTable(t, "")
		if !sameTable(adm, want) {
			t.Fatalf("%s: ipvsadm -Ln shows\n%swant\n%s", step, dumpTable(adm), dumpTable(normalize(want)))
		}
		got, err := port.Services(ctx)
		if err != nil {
			t.Fatalf("%s: port read-back: %v", step, err)
		}
		if !sameTable(got, want) {
			t.Fatalf("%s: the port reads back\n%swant (and ipvsadm shows)\n%s", step, dumpTable(got), dumpTable(normalize(want)))
		}
	}
	reconcile := func(step string, desired []ipvsbridge.Service, want ...string) {
		t.Helper()
		plan, err := rec.Reconcile(ctx, desired)
		if err != nil {
			t.Fatalf("%s: reconcile: %v", step, err)
		}
		wantPlan(t, step, planKinds(plan), want...)
	}

	const v4, v6 = "tcp/10.98.0.10:80", "tcp/[2001:db8:98::10]:80"
	web := svc("tcp", "10.98.0.10", 80, "wrr", "10.99.0.11:8080/3/nat", "10.99.0.12:8080/1/nat")
	web6 := svc("tcp", "2001:db8:98::10", 80, "rr", "[2001:db8:99::11]:8080/1/nat")

	// 1. Add: a service with two real servers, and an IPv6 one.
	reconcile("add", []ipvsbridge.Service{web, web6},
		"add-service "+v4, "add-real "+v4+" 10.99.0.11:8080 w3 nat", "add-real "+v4+" 10.99.0.12:8080 w1 nat",
		"add-service "+v6, "add-real "+v6+" [2001:db8:99::11]:8080 w1 nat")
	check("add", web, web6)
	if !rec.Programmed(v4) || !rec.Programmed(v6) {
		t.Fatalf("add: not programmed: %s %v, %s %v", v4, rec.Programmed(v4), v6, rec.Programmed(v6))
	}
	reconcile("add, again", []ipvsbridge.Service{web, web6})

	// UDP and SCTP services: protocols map both ways.
	dns := svc("udp", "10.98.0.10", 53, "rr", "10.99.0.11:53/1/nat")
	sctp := svc("sctp", "10.98.0.10", 5000, "rr", "10.99.0.12:5000/1/nat")
	reconcile("udp and sctp", []ipvsbridge.Service{web, web6, dns, sctp},
		"add-service udp/10.98.0.10:53", "add-real udp/10.98.0.10:53 10.99.0.11:53 w1 nat",
		"add-service sctp/10.98.0.10:5000", "add-real sctp/10.98.0.10:5000 10.99.0.12:5000 w1 nat")
	check("udp and sctp", web, web6, dns, sctp)
	reconcile("withdraw udp and sctp", []ipvsbridge.Service{web, web6},
		"drain-real udp/10.98.0.10:53 10.99.0.11:53 w0 nat", "drain-real sctp/10.98.0.10:5000 10.99.0.12:5000 w0 nat")
	reconcile("delete udp and sctp", []ipvsbridge.Service{web, web6},
		"delete-service udp/10.98.0.10:53", "delete-service sctp/10.98.0.10:5000")
	check("delete udp and sctp", web, web6)

	// The kernel's errors map to the port's.
	if err := port.AddService(ctx, web.VirtualService); !errors.Is(err, ipvsbridge.ErrExists) {
		t.Errorf("adding an existing service: %v, want ErrExists", err)
	}
	if err := port.AddReal(ctx, web.VirtualService, web.Reals[0]); !errors.Is(err, ipvsbridge.ErrExists) {
		t.Errorf("adding an existing real server: %v, want ErrExists", err)
	}
	missing := web.VirtualService
	missing.Port = 81
	if err := port.DeleteService(ctx, missing); !errors.Is(err, ipvsbridge.ErrNotFound) {
		t.Errorf("deleting a missing service: %v, want ErrNotFound", err)
	}
	ghost := web.Reals[0]
	ghost.Port = 9999
	if err := port.DeleteReal(ctx, web.VirtualService, ghost); !errors.Is(err, ipvsbridge.ErrNoDest) {
		t.Errorf("deleting a missing real server: %v, want ErrNoDest", err)
	}

	// 2. Update real servers: weights, and forwarding methods.
	web = svc("tcp", "10.98.0.10", 80, "wrr", "10.99.0.11:8080/5/nat", "10.99.0.12:8080/2/dr")
	web6 = svc("tcp", "2001:db8:98::10", 80, "rr", "[2001:db8:99::11]:8080/1/tun")
	reconcile("update reals", []ipvsbridge.Service{web, web6},
		"update-real "+v4+" 10.99.0.11:8080 w5 nat", "update-real "+v4+" 10.99.0.12:8080 w2 dr",
		"update-real "+v6+" [2001:db8:99::11]:8080 w1 tun")
	check("update reals", web, web6)

	// 3. Change the scheduler, with persistence, then drop persistence.
	web.Scheduler, web.Persistence = "wlc", 300
	reconcile("scheduler", []ipvsbridge.Service{web, web6}, "update-service "+v4)
	check("scheduler", web, web6)
	web.Persistence = 0
	reconcile("no persistence", []ipvsbridge.Service{web, web6}, "update-service "+v4)
	check("no persistence", web, web6)

	// 4. Drain: a removed real server goes to weight 0 and stays while it
	// may have connections; with none, the next pass deletes it.
	drained := web
	drained.Reals = web.Reals[:1]
	reconcile("drain", []ipvsbridge.Service{drained, web6}, "drain-real "+v4+" 10.99.0.12:8080 w0 dr")
	atZero := web
	atZero.Reals = []ipvsbridge.RealServer{web.Reals[0], web.Reals[1]}
	atZero.Reals[1].Weight = 0
	check("drain", atZero, web6)
	reconcile("drained", []ipvsbridge.Service{drained, web6}, "delete-real "+v4+" 10.99.0.12:8080 w0 dr")
	check("drained", drained, web6)
	web = drained

	// 5. Drift: a weight edited and a foreign service added by hand. A
	// pass undoes the edit and leaves the foreign service alone.
	run(t, "ipvsadm", "-e", "-t", "10.98.0.10:80", "-r", "10.99.0.11:8080", "-m", "-w", "9")
	run(t, "ipvsadm", "-A", "-t", "10.98.0.20:443", "-s", "rr")
	run(t, "ipvsadm", "-a", "-t", "10.98.0.20:443", "-r", "10.99.0.13:443", "-m", "-w", "1")
	// A firewall-mark service, which the port skips.
	run(t, "ipvsadm", "-A", "-f", "7", "-s", "rr")
	run(t, "ipvsadm", "-a", "-f", "7", "-r", "10.99.0.14", "-g", "-w", "1")
	foreign := svc("tcp", "10.98.0.20", 443, "rr", "10.99.0.13:443/1/nat")
	edited := svc("tcp", "10.98.0.10", 80, "wlc", "10.99.0.11:8080/9/nat")
	check("edited by hand", edited, web6, foreign)
	reconcile("repair", []ipvsbridge.Service{web, web6}, "update-real "+v4+" 10.99.0.11:8080 w5 nat")
	check("repair", web, web6, foreign)

	// The periodic resync of Run repairs drift without being asked.
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		rec.Run(runCtx, func() []ipvsbridge.Service { return []ipvsbridge.Service{web, web6} }, nil, 200*time.Millisecond, nil)
	}()
	run(t, "ipvsadm", "-e", "-t", "10.98.0.10:80", "-r", "10.99.0.11:8080", "-m", "-w", "7")
	took := waitFor(t, 10*time.Second, "Run repairs a weight edited by hand", func() (bool, string) {
		w := weightOf(t, "", v4, "10.99.0.11:8080")
		return w == 5, fmt.Sprintf("weight %d", w)
	})
	stopRun()
	<-ran
	t.Logf("Run (resync 200ms) repaired an edited weight in %s", took.Round(time.Millisecond))
	check("resync", web, web6, foreign)

	// 6. Delete: a withdrawn service is drained, then deleted; the foreign
	// service stays (the reconciler never flushes).
	reconcile("withdraw v6", []ipvsbridge.Service{web}, "drain-real "+v6+" [2001:db8:99::11]:8080 w0 tun")
	web6Drained := web6
	web6Drained.Reals = []ipvsbridge.RealServer{web6.Reals[0]}
	web6Drained.Reals[0].Weight = 0
	check("withdraw v6", web, web6Drained, foreign)
	reconcile("delete v6", []ipvsbridge.Service{web}, "delete-service "+v6)
	check("delete v6", web, foreign)
	reconcile("withdraw all", nil, "drain-real "+v4+" 10.99.0.11:8080 w0 nat")
	reconcile("delete all", nil, "delete-service "+v4)
	check("delete all", foreign)
	reconcile("nothing left", nil)
	check("nothing left", foreign)
	if out := ipvsadm(t, "", "-Ln"); !strings.Contains(out, "FWM  7 rr") || !strings.Contains(out, "-> 10.99.0.14:0") {
		t.Errorf("the firewall-mark service added by hand is gone or changed:\n%s", out)
	}
	if owned := rec.Owned(); len(owned) != 0 {
		t.Errorf("the reconciler still owns %v after deleting everything", owned)
	}
}

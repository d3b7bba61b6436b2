//go:build vm

package vmtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbdns/lbdns/ipvsbridge"
)

// net4 holds one test's namespaces and addresses: a client, a director
// and two real servers, numbered 10.O.x.y by the test's octet O.
type net4 struct {
	client, dir, rs1, rs2 string // namespaces
	dirAddr               string // the director's address on the client side
	vip                   string
	real1, real2          string // real servers' addresses
}

// natNet builds the LVS-NAT topology: the client on one link to the
// director (10.O.1.0/24), the real servers on a bridge inside the
// director (10.O.2.0/24) with their default route through it. The VIP
// 10.O.100.10 is on the director; the client routes to it through the
// director too, so every packet crosses it both ways.
func natNet(l *lab, o int) net4 {
	ns := l.netns("client", "dir", "rs1", "rs2")
	n := net4{client: ns[0], dir: ns[1], rs1: ns[2], rs2: ns[3],
		dirAddr: fmt.Sprintf("10.%d.1.1", o), vip: fmt.Sprintf("10.%d.100.10", o),
		real1: fmt.Sprintf("10.%d.2.11", o), real2: fmt.Sprintf("10.%d.2.12", o)}
	ipBatch(l.t, n.client,
		"link set lo up",
		"link add eth0 type veth peer name c0 netns "+n.dir,
		fmt.Sprintf("addr add 10.%d.1.2/24 dev eth0", o),
		"link set eth0 up",
		"route add default via "+n.dirAddr)
	for i, rs := range []struct{ ns, addr string }{{n.rs1, n.real1}, {n.rs2, n.real2}} {
		ipBatch(l.t, rs.ns,
			"link set lo up",
			fmt.Sprintf("link add eth0 type veth peer name r%d netns %s", i+1, n.dir),
			"addr add "+rs.addr+"/24 dev eth0",
			"link set eth0 up",
			fmt.Sprintf("route add default via 10.%d.2.1", o))
	}
	ipBatch(l.t, n.dir,
		"link set lo up",
		"addr add "+n.dirAddr+"/24 dev c0",
		"addr add "+n.vip+"/32 dev c0",
		"link set c0 up",
		"link add br0 type bridge",
		fmt.Sprintf("addr add 10.%d.2.1/24 dev br0", o),
		"link set br0 up",
		"link set r1 master br0 up",
		"link set r2 master br0 up")
	l.sysctl(n.dir, "net.ipv4.ip_forward=1")
	l.mark("NAT topology built")
	return n
}

// l2Net builds the one-segment topology of LVS-DR and LVS-TUN: client,
// director and real servers on one bridge (10.O.0.0/24) in the VM's own
// namespace, the VIP 10.O.0.100 on the director's interface, and the
// director not forwarding, so replies can only go from the real servers
// straight to the client. realServer lists the `ip` commands that set
// up a real server for the mode, given the VIP.
func l2Net(l *lab, o int, realServer func(vip string) []string) net4 {
	ns := l.netns("client", "dir", "rs1", "rs2")
	n := net4{client: ns[0], dir: ns[1], rs1: ns[2], rs2: ns[3],
		dirAddr: fmt.Sprintf("10.%d.0.1", o), vip: fmt.Sprintf("10.%d.0.100", o),
		real1: fmt.Sprintf("10.%d.0.11", o), real2: fmt.Sprintf("10.%d.0.12", o)}
	sw := l.prefix + "-sw"
	root := []string{"link add " + sw + " type bridge", "link set " + sw + " up"}
	l.links = append(l.links, sw)
	addrs := []string{fmt.Sprintf("10.%d.0.2/24", o), n.dirAddr + "/24", n.real1 + "/24", n.real2 + "/24"}
	for i, short := range []string{"c", "d", "r1", "r2"} {
		port := l.prefix + "-" + short
		root = append(root, "link add "+port+" type veth peer name eth0 netns "+ns[i], "link set "+port+" master "+sw+" up")
	}
	ipBatch(l.t, "", root...)
	for i, ns := range ns {
		cmds := []string{"link set lo up", "addr add " + addrs[i] + " dev eth0", "link set eth0 up"}
		switch ns {
		case n.dir:
			cmds = append(cmds, "addr add "+n.vip+"/32 dev eth0")
		case n.rs1, n.rs2:
			cmds = append(cmds, realServer(n.vip)...)
		}
		ipBatch(l.t, ns, cmds...)
	}
	l.sysctl(n.dir, "net.ipv4.ip_forward=0")
	l.mark("L2 topology built")
	return n
}

// trafficTest programs a wrr service on the VIP with weights 2:1 through
// the reconciler, checks ipvsadm, and sends 60 requests from the client;
// it returns the service.
func trafficTest(t *testing.T, l *lab, n net4, fwd string, realPort uint16) ipvsbridge.Service {
	t.Helper()
	s := svc("tcp", n.vip, 80, "wrr",
		fmt.Sprintf("%s:%d/2/%s", n.real1, realPort, fwd), fmt.Sprintf("%s:%d/1/%s", n.real2, realPort, fwd))
	key := s.Key()
	l.mark("real servers set up")
	wantPlan(t, "program "+fwd, l.reconcile(n.dir, []ipvsbridge.Service{s}),
		"add-service "+key, fmt.Sprintf("add-real %s %s:%d w2 %s", key, n.real1, realPort, fwd),
		fmt.Sprintf("add-real %s %s:%d w1 %s", key, n.real2, realPort, fwd))
	if got := ipvsTable(t, n.dir); !sameTable(got, []ipvsbridge.Service{s}) {
		t.Fatalf("ipvsadm -Ln in the director shows\n%swant\n%s", dumpTable(got), dumpTable([]ipvsbridge.Service{s}))
	}
	l.mark("IPVS programmed and checked")
	counts := l.fetch(n.client, "http://"+n.vip+"/", 60)
	l.mark("60 requests")
	t.Logf("%s: 60 requests to %s:80 were answered by %v", fwd, n.vip, counts)
	if len(counts) != 2 || counts["rs1"]+counts["rs2"] != 60 {
		t.Fatalf("answers %v, want only rs1 and rs2, 60 in all", counts)
	}
	// wrr with weights 2:1 gives 40:20; allow some slack.
	if c := counts["rs1"]; c < 34 || c > 46 {
		t.Errorf("rs1 (weight 2) answered %d of 60, want about 40", c)
	}
	return s
}

// TestLVSNAT sends traffic through a NAT director programmed by the
// reconciler: requests reach both real servers in proportion to their
// weights, with the port translated, and replies come back through the
// director.
func TestLVSNAT(t *testing.T) {
	requireIPVS(t)
	l := newLab(t, "nat")
	n := natNet(l, 1)
	l.httpd("rs1", n.rs1, ":8080")
	l.httpd("rs2", n.rs2, ":8080")
	s := trafficTest(t, l, n, "nat", 8080)
	st := settledStats(t, n.dir, s.Key(), 60)
	t.Logf("director counters: %d connections, %d packets in, %d out", st.conns, st.inPkts, st.outPkts)
	if st.inPkts == 0 || st.outPkts == 0 {
		t.Errorf("director counters %+v: want packets both in and out (replies) through the director", st)
	}

	// Drain with connections: the 60 closed connections linger in the
	// kernel's table for a while (inactive), and the port reads them
	// back as ipvsadm shows them. A removed real server that still has
	// connections stays at weight 0 until the drain timeout.
	rs2 := s.Reals[1].Key()
	drained := s
	drained.Reals = s.Reals[:1]
	const drainTimeout = 5 * time.Second
	res := l.reconcileSteps(n.dir, drainTimeout,
		reconcileStep{Desired: []ipvsbridge.Service{s}},
		reconcileStep{Desired: []ipvsbridge.Service{drained}},
		reconcileStep{Desired: []ipvsbridge.Service{drained}},
		reconcileStep{Wait: drainTimeout, Desired: []ipvsbridge.Service{drained}})
	adm := ipvsTable(t, n.dir)
	wantPlan(t, "unchanged", planKinds(res[0].Plan))
	if !sameConns(res[0].Table, adm, rs2) {
		t.Errorf("connection counts: the port read back\n%sbefore the drain, ipvsadm shows\n%safter it", dumpConns(res[0].Table), dumpConns(adm))
	}
	if c := conns(res[0].Table, rs2); c == 0 {
		t.Fatalf("the port reads back no connections for %s after 20 requests:\n%s", rs2, dumpConns(res[0].Table))
	}
	wantPlan(t, "drain", planKinds(res[1].Plan), "drain-real "+s.Key()+" "+rs2+" w0 nat")
	wantPlan(t, "drain, with connections", planKinds(res[2].Plan))
	wantPlan(t, "drain timeout", planKinds(res[3].Plan), "delete-real "+s.Key()+" "+rs2+" w0 nat")
	if r := res[3].Plan[0].Reason; !strings.Contains(r, "drain timeout") {
		t.Errorf("delete-real reason %q, want the drain timeout", r)
	}
	if !sameTable(adm, []ipvsbridge.Service{drained}) {
		t.Errorf("after the drain, ipvsadm shows\n%swant\n%s", dumpTable(adm), dumpTable([]ipvsbridge.Service{drained}))
	}
	if c := l.fetch(n.client, "http://"+n.vip+"/", 10); c["rs1"] != 10 {
		t.Errorf("after rs2 was drained and deleted, 10 requests were answered by %v; want all by rs1", c)
	}
}

// conns is real's active plus inactive connections in table.
func conns(table []ipvsbridge.Service, real string) int {
	for _, s := range table {
		for _, r := range s.Reals {
			if r.Key() == real {
				return r.ActiveConns + r.InactiveConns
			}
		}
	}
	return -1
}

// sameConns compares the connection counts of every real server of a
// and b except skip (deleted in between).
func sameConns(a, b []ipvsbridge.Service, skip string) bool {
	for _, s := range a {
		for _, r := range s.Reals {
			if r.Key() != skip && conns(b, r.Key()) != r.ActiveConns+r.InactiveConns {
				return false
			}
		}
	}
	return true
}

func dumpConns(table []ipvsbridge.Service) string {
	var b strings.Builder
	for _, s := range table {
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "  %s -> %s weight %d active %d inactive %d\n", s.Key(), r.Key(), r.Weight, r.ActiveConns, r.InactiveConns)
		}
	}
	return b.String()
}

// TestLVSDR sends traffic through a direct-routing director: the VIP is on
// the real servers' lo, hidden from ARP, and replies go from the real
// servers straight to the client, never through the director (which does
// not forward at all).
func TestLVSDR(t *testing.T) {
	requireIPVS(t)
	l := newLab(t, "dr")
	n := l2Net(l, 2, func(vip string) []string { return []string{"addr add " + vip + "/32 dev lo"} })
	for _, rs := range []string{n.rs1, n.rs2} {
		l.sysctl(rs, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			"net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2")
	}
	l.httpd("rs1", n.rs1, ":80")
	l.httpd("rs2", n.rs2, ":80")
	directOnly(t, n, trafficTest(t, l, n, "dr", 80).Key())
}

// TestLVSTUN sends traffic through a tunnelling director: requests reach
// the real servers in IPIP, the VIP is on their tunl0, and replies go
// straight to the client.
func TestLVSTUN(t *testing.T) {
	requireIPVS(t)
	l := newLab(t, "tun")
	n := l2Net(l, 3, func(vip string) []string { return []string{"link set tunl0 up", "addr add " + vip + "/32 dev tunl0"} })
	for _, rs := range []string{n.rs1, n.rs2} {
		l.sysctl(rs, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.tunl0.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0",
			"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
			"net.ipv4.conf.eth0.arp_ignore=1", "net.ipv4.conf.eth0.arp_announce=2")
	}
	l.httpd("rs1", n.rs1, ":80")
	l.httpd("rs2", n.rs2, ":80")
	directOnly(t, n, trafficTest(t, l, n, "tun", 80).Key())
}

// directOnly checks that the director saw the requests and none of the
// replies: IPVS counted packets in and none out, and the director does
// not forward, so replies cannot have crossed it.
func directOnly(t *testing.T, n net4, key string) {
	t.Helper()
	st := settledStats(t, n.dir, key, 60)
	t.Logf("director counters: %d connections, %d packets in, %d out", st.conns, st.inPkts, st.outPkts)
	if st.inPkts == 0 || st.outPkts != 0 {
		t.Errorf("director counters %+v: want packets in and none out", st)
	}
	if fwd := run(t, inNS(n.dir, "cat", "/proc/sys/net/ipv4/ip_forward")...); fwd != "0\n" {
		t.Errorf("director ip_forward = %q, want 0", fwd)
	}
}

// settledStats waits until the service's counters show conns
// connections and returns them. The kernel (before 6.2) folds its per-CPU
// counters into what ipvsadm reads only every 2 seconds.
func settledStats(t *testing.T, ns, key string, conns uint64) stats {
	t.Helper()
	var st stats
	waitFor(t, 10*time.Second, fmt.Sprintf("director counters show %d connections", conns), func() (bool, string) {
		st = serviceStats(t, ns, key)
		return st.conns >= conns, fmt.Sprintf("%+v", st)
	})
	if st.conns != conns {
		t.Errorf("director counters show %d connections, want %d (one per request)", st.conns, conns)
	}
	return st
}

package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/lbdns/lbdns/zones"
)

// End-to-end tests of load-balanced names: the built binary serving
// services steered by a generated GeoIP database, queried with dig and its
// +subnet option (EDNS Client Subnet) as an operator checking them would,
// and `lbdns explain` held to what dig sees.

const lbZone = "lb.example.com"

// lbServices covers every policy, with sites on five continents. Each
// site has one IPv4 and one IPv6 VIP unless a case needs otherwise.
const lbServices = `# Services for the load-balancing end-to-end tests.
services:
  - name: www.lb.example.com
    ttl: 60
    policy: geo
    answers: 2
    sites:
      - name: fra
        vips: [203.0.113.10, "2001:db8:100::10"]
        location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
      - name: iad
        vips: [203.0.113.20, "2001:db8:100::20"]
        location: {lat: 39.04, lon: -77.49, country: US, continent: NA}
      - name: gru
        vips: [203.0.113.30, "2001:db8:100::30"]
        location: {lat: -23.55, lon: -46.63, country: BR, continent: SA}
        clients: [198.18.128.0/24, "2001:db8:1:8000::/56"]
      - name: nrt
        vips: [203.0.113.40, "2001:db8:100::40"]
        location: {lat: 35.68, lon: 139.65, country: JP, continent: AS}
      - name: syd
        vips: [203.0.113.50, "2001:db8:100::50"]
        location: {lat: -33.87, lon: 151.21, country: AU, continent: OC}
        clients: [10.0.0.0/8]
  - name: weighted.lb.example.com
    ttl: 20
    policy: weighted
    answers: 2
    sites:
      - {name: a, weight: 1, vips: [203.0.113.61, "2001:db8:100::61"]}
      - {name: b, weight: 3, vips: [203.0.113.62, "2001:db8:100::62"]}
      - {name: c, weight: 0, vips: [203.0.113.63, "2001:db8:100::63"]}
  - name: failover.lb.example.com
    ttl: 45
    policy: failover
    answers: 2
    sites:
      - {name: primary, priority: 1, vips: [203.0.113.21, 203.0.113.22, "2001:db8:100::21"]}
      - {name: backup, priority: 2, vips: [203.0.113.11, "2001:db8:100::11"]}
  - name: all.lb.example.com
    ttl: 30
    policy: all
    sites:
      - {name: fra, vips: [203.0.113.10, "2001:db8:100::10"]}
      - {name: iad, vips: [203.0.113.20, 203.0.113.23, "2001:db8:100::20"]}
      - {name: nrt, vips: [203.0.113.40, "2001:db8:100::40"]}
  - name: hash.lb.example.com
    ttl: 120
    policy: hash
    answers: 2
    sites:
      - {name: fra, vips: [203.0.113.10, "2001:db8:100::10"]}
      - {name: iad, vips: [203.0.113.20, "2001:db8:100::20"]}
      - {name: gru, vips: [203.0.113.30, "2001:db8:100::30"]}
      - {name: nrt, vips: [203.0.113.40, "2001:db8:100::40"]}
  - name: v4only.lb.example.com
    ttl: 40
    policy: all
    sites:
      - {name: one, vips: [203.0.113.71]}
      - {name: two, vips: [203.0.113.72]}
  - name: fb-all.lb.example.com
    ttl: 25
    policy: geo
    sites:
      - name: fra
        vips: [203.0.113.10, "2001:db8:100::10"]
        location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
      - name: nrt
        vips: [203.0.113.40, "2001:db8:100::40"]
        location: {lat: 35.68, lon: 139.65, country: JP, continent: AS}
  - name: fb-none.lb.example.com
    ttl: 25
    policy: failover
    fallback: none
    sites:
      - {name: x, priority: 1, vips: [203.0.113.81, "2001:db8:100::81"]}
      - {name: y, priority: 2, vips: [203.0.113.82, "2001:db8:100::82"]}
  - name: fb-sorry.lb.example.com
    ttl: 25
    policy: weighted
    fallback: sorry
    sorry: [198.51.100.99, "2001:db8:ffff::99"]
    sites:
      - {name: x, vips: [203.0.113.91, "2001:db8:100::91"]}
      - {name: y, vips: [203.0.113.92, "2001:db8:100::92"]}
`

// lbServiceNames is every service lbServices defines, with its site count.
var lbServiceNames = map[string]int{
	"www": 5, "weighted": 3, "failover": 2, "all": 3, "hash": 4,
	"v4only": 2, "fb-all": 2, "fb-none": 2, "fb-sorry": 2,
}

// lbGeoVIP is each site's VIPs in the geo service www, by family.
var lbGeoVIP = map[string][2]string{
	"fra": {"203.0.113.10", "2001:db8:100::10"},
	"iad": {"203.0.113.20", "2001:db8:100::20"},
	"gru": {"203.0.113.30", "2001:db8:100::30"},
	"nrt": {"203.0.113.40", "2001:db8:100::40"},
	"syd": {"203.0.113.50", "2001:db8:100::50"},
}

func lbSvc(short string) string { return short + "." + lbZone }

// lbEnv is a database holding lbZone, the services and a GeoIP file.
type lbEnv struct {
	db, geoip, file string
}

// setupLB makes the zone, a name that already holds an A record, the
// GeoIP database with every geotest place, and applies lbServices.
func setupLB(t *testing.T) lbEnv {
	t.Helper()
	dir := t.TempDir()
	e := lbEnv{db: filepath.Join(dir, "lbdns.db"), geoip: filepath.Join(dir, "city.mmdb"), file: filepath.Join(dir, "services.yaml")}
	if err := geotest.WriteCityDB(e.geoip, geotest.Places); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.file, []byte(lbServices), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "zone", "create", lbZone, "--ns", "ns1.lb.example.com=192.0.2.53", "--email", "hostmaster@lb.example.com")
	mustRun(t, e.db, "record", "add", "taken.lb.example.com", "A", "192.0.2.99")
	out := mustRun(t, e.db, "service", "apply", "-f", e.file).stdout
	for short, sites := range lbServiceNames {
		want := fmt.Sprintf("applied %s. (", lbSvc(short))
		line := ""
		for l := range strings.Lines(out) {
			if strings.HasPrefix(l, want) {
				line = l
			}
		}
		if !strings.HasSuffix(line, fmt.Sprintf(", %d sites, zone %s.)\n", sites, lbZone)) {
			t.Errorf("service apply printed no line for %s with %d sites in zone %s:\n%s", lbSvc(short), sites, lbZone, out)
		}
	}
	return e
}

func (e lbEnv) serve(t *testing.T) *proc {
	t.Helper()
	return serve(t, e.db, "--geoip", e.geoip)
}

// ---- dig with ECS ----

// lbAnswer is dig's answer to one ECS query, parsed further.
type lbAnswer struct {
	digResult
	addrs  []string // A or AAAA data, in answer order
	ttls   []uint32
	ecs    string // the CLIENT-SUBNET prefix dig printed ("" if none)
	source int
	scope  int
}

var lbDigECS = regexp.MustCompile(`(?m)^; CLIENT-SUBNET: (\S+)/(\d+)/(\d+)\s*$`)

// lbDig asks p for name and typ as a resolver forwarding client (an ECS
// prefix) would.
func lbDig(t *testing.T, p *proc, name, typ, client string) lbAnswer {
	t.Helper()
	d := p.dig(t, name, typ, "+subnet="+client)
	a := lbAnswer{digResult: d, addrs: d.answers(typ), source: -1, scope: -1}
	for _, l := range d.sections["ANSWER"] {
		if f := strings.Fields(l); len(f) >= 5 && f[3] == typ {
			n, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				t.Fatalf("TTL %q: %v; %v", f[1], err, d)
			}
			a.ttls = append(a.ttls, uint32(n))
		}
	}
	if m := lbDigECS.FindStringSubmatch(d.out); m != nil {
		a.ecs = m[1] + "/" + m[2]
		a.source, _ = strconv.Atoi(m[2])
		a.scope, _ = strconv.Atoi(m[3])
	}
	return a
}

// lbCheckAnswer checks the parts every answer for a service shares: NOERROR,
// aa, the ECS option echoed with its source, and the service's TTL.
func lbCheckAnswer(t *testing.T, a lbAnswer, client string, ttl uint32) {
	t.Helper()
	if a.status != "NOERROR" || !a.hasFlag("aa") || a.hasFlag("ra") {
		t.Errorf("want NOERROR with aa and no ra; %v", a)
	}
	if p := netip.MustParsePrefix(client); a.ecs != p.Masked().String() || a.source != p.Bits() {
		t.Errorf("CLIENT-SUBNET %s (source %d), want %s echoed; %v", a.ecs, a.source, client, a)
	}
	for _, got := range a.ttls {
		if got != ttl {
			t.Errorf("TTL %d, want the service's %d; %v", got, ttl, a)
			break
		}
	}
}

// lbCheckNODATA checks a NODATA answer: NOERROR, aa, no answer, the zone's
// SOA in the authority section.
func lbCheckNODATA(t *testing.T, a lbAnswer) {
	t.Helper()
	auth := a.sections["AUTHORITY"]
	if a.status != "NOERROR" || !a.hasFlag("aa") || len(a.sections["ANSWER"]) != 0 ||
		len(auth) != 1 || !regexp.MustCompile(`^lb\.example\.com\.\s+\d+\s+IN\s+SOA\s`).MatchString(auth[0]) {
		t.Errorf("want NODATA: NOERROR, aa, no answer, the SOA of %s in authority; %v", lbZone, a)
	}
}

// ---- explain ----

// lbDecision is `lbdns explain --json`, as a script reads it.
type lbDecision struct {
	Service  string   `json:"service"`
	Policy   string   `json:"policy"`
	Located  bool     `json:"located"`
	Network  string   `json:"network"`
	Scope    int      `json:"scope"`
	TTL      uint32   `json:"ttl"`
	Addrs    []string `json:"addrs"`
	Fallback string   `json:"fallback"`
	Sites    []struct {
		Name  string `json:"name"`
		State struct {
			Up     bool   `json:"up"`
			Admin  string `json:"admin"`
			Reason string `json:"reason"`
		} `json:"state"`
		Chosen bool   `json:"chosen"`
		Why    string `json:"why"`
	} `json:"sites"`
}

// lbExplainJSON runs `lbdns explain NAME --client CLIENT --type TYP --json`.
func lbExplainJSON(t *testing.T, db, name, client, typ string, extra ...string) lbDecision {
	t.Helper()
	args := append([]string{"explain", name, "--client", client, "--type", typ, "--json"}, extra...)
	r := mustRun(t, db, args...)
	var d lbDecision
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("lbdns %q: %v\n%s", args, err, r.stdout)
	}
	return d
}

// lbAgree checks that explain's decision is what dig got: the same addresses
// (in the same order when ordered), scope and TTL.
func lbAgree(t *testing.T, what string, d lbDecision, a lbAnswer, ordered bool) {
	t.Helper()
	got, want := slices.Clone(d.Addrs), slices.Clone(a.addrs)
	if !ordered {
		slices.Sort(got)
		slices.Sort(want)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: explain says %v, dig got %v; %v", what, d.Addrs, a.addrs, a)
	}
	if d.Scope != a.scope {
		t.Errorf("%s: explain says scope /%d (decided by %s), dig got /%d; %v", what, d.Scope, d.Network, a.scope, a)
	}
	if len(a.ttls) > 0 && d.TTL != a.ttls[0] {
		t.Errorf("%s: explain says TTL %d, dig got %d", what, d.TTL, a.ttls[0])
	}
}

// lbExplainTable reads the SITE table of explain's text output: site name to
// its STATE and WHY columns.
func lbExplainTable(t *testing.T, out string) map[string][2]string {
	t.Helper()
	rows := map[string][2]string{}
	lines := strings.Split(out, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "SITE ") })
	if h < 0 {
		t.Fatalf("explain printed no SITE table:\n%s", out)
	}
	if f := strings.Fields(lines[h]); !slices.Equal(f, []string{"SITE", "STATE", "WEIGHT", "PRIORITY", "DISTANCE", "WHY"}) {
		t.Fatalf("explain table header %q", lines[h])
	}
	whyAt := strings.Index(lines[h], "WHY")
	for _, l := range lines[h+1:] {
		if strings.TrimSpace(l) == "" {
			break
		}
		f := strings.Fields(l)
		why := ""
		if len(l) > whyAt {
			why = strings.TrimSpace(l[whyAt:])
		}
		rows[f[0]] = [2]string{f[1], why}
	}
	return rows
}

// lbCheckExplainText runs explain without --json and checks that it names
// every one of sites with its state and a reason.
func lbCheckExplainText(t *testing.T, db, name, client, typ string, states map[string]string) string {
	t.Helper()
	out := mustRun(t, db, "explain", name, "--client", client, "--type", typ).stdout
	rows := lbExplainTable(t, out)
	if len(rows) != len(states) {
		t.Errorf("explain %s --client %s lists %d sites, want %d:\n%s", name, client, len(rows), len(states), out)
	}
	for site, state := range states {
		r, ok := rows[site]
		switch {
		case !ok:
			t.Errorf("explain %s --client %s does not name site %s:\n%s", name, client, site, out)
		case r[0] != state:
			t.Errorf("explain %s --client %s: site %s state %q, want %q:\n%s", name, client, site, r[0], state, out)
		case !regexp.MustCompile(`^((chosen|not chosen|down): \S.*|no IPv[46] VIP)$`).MatchString(r[1]):
			t.Errorf("explain %s --client %s: site %s has no reason (WHY %q):\n%s", name, client, site, r[1], out)
		}
	}
	for _, want := range []string{"service:", "policy", "answer:", "ttl:", "ecs scope:"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain %s --client %s lacks %q:\n%s", name, client, want, out)
		}
	}
	return out
}

// lbECS is the ECS prefix of length bits at the start of place's network.
func lbECS(p geotest.Place, bits int) string {
	return netip.PrefixFrom(p.Network.Addr(), bits).Masked().String()
}

// ---- 1-3. steering, as dig sees it and as explain tells it ----

func TestE2ELBSteering(t *testing.T) {
	t.Parallel()
	e := setupLB(t)
	p := e.serve(t)

	// The geo service www (answers: 2): the two nearest sites, a CIDR-map
	// site first. The scope is the GeoIP network's length, or longer where
	// a CIDR-map entry lies inside that network (the reply must not cover
	// clients the map sends elsewhere).
	type geoCase struct {
		what   string
		client string
		sites  []string
		scope  int // -1: whatever explain says (an address in no GeoIP network)
	}
	geoCases := []geoCase{
		{"Frankfurt (GeoIP /16 holding the gru map entry 198.18.128.0/24)", lbECS(geotest.Frankfurt, 24), []string{"fra", "iad"}, 17},
		{"Paris", lbECS(geotest.Paris, 24), []string{"fra", "iad"}, geotest.Paris.Network.Bits()},
		{"New York", lbECS(geotest.NewYork, 24), []string{"iad", "fra"}, geotest.NewYork.Network.Bits()},
		{"São Paulo", lbECS(geotest.SaoPaulo, 24), []string{"gru", "iad"}, geotest.SaoPaulo.Network.Bits()},
		{"Tokyo", lbECS(geotest.Tokyo, 24), []string{"nrt", "syd"}, geotest.Tokyo.Network.Bits()},
		{"Sydney", lbECS(geotest.Sydney, 24), []string{"syd", "nrt"}, geotest.Sydney.Network.Bits()},
		{"Germany, no coordinates", lbECS(geotest.CountryOnly, 24), []string{"fra", "iad"}, geotest.CountryOnly.Network.Bits()},
		{"Frankfurt IPv6 (GeoIP /48 holding the gru map entry 2001:db8:1:8000::/56)", lbECS(geotest.Frankfurt6, 56), []string{"fra", "iad"}, 49},
		{"Paris IPv6", lbECS(geotest.Paris6, 56), []string{"fra", "iad"}, geotest.Paris6.Network.Bits()},
		{"New York IPv6", lbECS(geotest.NewYork6, 56), []string{"iad", "fra"}, geotest.NewYork6.Network.Bits()},
		{"Ashburn IPv6", lbECS(geotest.Ashburn6, 56), []string{"iad", "fra"}, geotest.Ashburn6.Network.Bits()},
		{"São Paulo IPv6", lbECS(geotest.SaoPaulo6, 56), []string{"gru", "iad"}, geotest.SaoPaulo6.Network.Bits()},
		{"Tokyo IPv6", lbECS(geotest.Tokyo6, 56), []string{"nrt", "syd"}, geotest.Tokyo6.Network.Bits()},
		{"Sydney IPv6", lbECS(geotest.Sydney6, 56), []string{"syd", "nrt"}, geotest.Sydney6.Network.Bits()},
		{"Europe, no country", lbECS(geotest.ContinentOnly, 56), []string{"fra", "iad"}, geotest.ContinentOnly.Network.Bits()},
		{"CIDR map over Frankfurt's GeoIP network", "198.18.128.0/24", []string{"gru", "fra"}, 24},
		{"CIDR map over Frankfurt's GeoIP network, IPv6", "2001:db8:1:8000::/56", []string{"gru", "fra"}, 56},
		{"CIDR map, no GeoIP record", "10.1.2.0/24", []string{"syd", "fra"}, 8},
		{"Tokyo as an IPv4-mapped IPv6 ECS address: scope in IPv6 terms", "::ffff:100.65.0.0/120", []string{"nrt", "syd"}, 96 + geotest.Tokyo.Network.Bits()},
		{"Frankfurt as an IPv4-mapped IPv6 ECS address", "::ffff:198.18.0.0/120", []string{"fra", "iad"}, 96 + 17},
		{"in no GeoIP network: priority, then weight, then file order", netip.PrefixFrom(geotest.UnknownV4, 24).Masked().String(), []string{"fra", "iad"}, -1},
		{"in no GeoIP network, IPv6", netip.PrefixFrom(geotest.UnknownV6, 56).Masked().String(), []string{"fra", "iad"}, -1},
	}

	// recorded keeps dig's answers for the explain runs once the server
	// has stopped.
	type recordedCase struct {
		name, client, typ string
		a                 lbAnswer
		ordered           bool
	}
	var (
		mu       sync.Mutex
		recorded []recordedCase
	)
	keep := func(name, client, typ string, a lbAnswer, ordered bool) {
		mu.Lock()
		defer mu.Unlock()
		recorded = append(recorded, recordedCase{name, client, typ, a, ordered})
	}

	www := lbSvc("www")
	// Each client in its own subtest, all at once: the CLI waits out the
	// database lock before it turns to the admin API, so serially this is
	// slow, and concurrency is what a server sees anyway.
	t.Run("geo", func(t *testing.T) {
		for _, c := range geoCases {
			t.Run(c.what, func(t *testing.T) {
				t.Parallel()
				for fam, typ := range []string{"A", "AAAA"} {
					a := lbDig(t, p, www, typ, c.client)
					lbCheckAnswer(t, a, c.client, 60)
					var want []string
					for _, s := range c.sites {
						want = append(want, lbGeoVIP[s][fam])
					}
					if !slices.Equal(a.addrs, want) {
						t.Errorf("%s %s %s: got %v, want %v (sites %v); %v", c.what, c.client, typ, a.addrs, want, c.sites, a)
					}
					if c.scope >= 0 && a.scope != c.scope {
						t.Errorf("%s %s %s: ECS scope /%d, want /%d; %v", c.what, c.client, typ, a.scope, c.scope, a)
					}
					d := lbExplainJSON(t, e.db, www, c.client, typ)
					lbAgree(t, c.what+" "+typ, d, a, true)
					if d.Policy != "geo" || d.Service != www+"." {
						t.Errorf("%s: explain names service %q policy %q", c.what, d.Service, d.Policy)
					}
					keep(www, c.client, typ, a, true)
				}
			})
		}
	})

	// The same client network always gets the same geo answer, whatever
	// host address or source length the resolver sends.
	for _, client := range []string{"100.65.0.77/32", "100.65.3.0/24", "100.65.0.0/20"} {
		a := lbDig(t, p, www, "A", client)
		lbCheckAnswer(t, a, client, 60)
		if !slices.Equal(a.addrs, []string{lbGeoVIP["nrt"][0], lbGeoVIP["syd"][0]}) || a.scope != 20 {
			t.Errorf("Tokyo client %s: got %v scope /%d, want nrt, syd at /20; %v", client, a.addrs, a.scope, a)
		}
	}

	// Failover (answers: 2): every VIP of the lowest priority, in file
	// order, and nothing from the backup even when that leaves one answer.
	fo := lbSvc("failover")
	for _, client := range []string{lbECS(geotest.Tokyo, 24), lbECS(geotest.Paris6, 56)} {
		for typ, want := range map[string][]string{
			"A":    {"203.0.113.21", "203.0.113.22"},
			"AAAA": {"2001:db8:100::21"},
		} {
			a := lbDig(t, p, fo, typ, client)
			lbCheckAnswer(t, a, client, 45)
			if !slices.Equal(a.addrs, want) || a.scope != 0 {
				t.Errorf("failover %s %s: got %v scope /%d, want %v scope /0; %v", client, typ, a.addrs, a.scope, want, a)
			}
			lbAgree(t, "failover "+client+" "+typ, lbExplainJSON(t, e.db, fo, client, typ), a, true)
			keep(fo, client, typ, a, true)
		}
	}

	// All: every VIP, rotated; scope 0.
	all := lbSvc("all")
	allWant := map[string][]string{
		"A":    {"203.0.113.10", "203.0.113.20", "203.0.113.23", "203.0.113.40"},
		"AAAA": {"2001:db8:100::10", "2001:db8:100::20", "2001:db8:100::40"},
	}
	firsts := map[string]bool{}
	for i := range 8 {
		client := []string{lbECS(geotest.SaoPaulo, 24), lbECS(geotest.Sydney6, 56)}[i%2]
		for typ, want := range allWant {
			a := lbDig(t, p, all, typ, client)
			lbCheckAnswer(t, a, client, 30)
			got := slices.Sorted(slices.Values(a.addrs))
			if !slices.Equal(got, want) || a.scope != 0 {
				t.Errorf("all %s %s: got %v scope /%d, want every VIP %v at /0; %v", client, typ, a.addrs, a.scope, want, a)
			}
			if typ == "A" && len(a.addrs) > 0 {
				firsts[a.addrs[0]] = true
			}
			if i < 2 {
				lbAgree(t, "all "+client+" "+typ, lbExplainJSON(t, e.db, all, client, typ), a, false)
			}
		}
	}
	if len(firsts) < 2 {
		t.Errorf("policy all: 8 answers all started with %v; want the order rotated", firsts)
	}

	// Weighted (answers: 2, weights 1, 3 and 0): the two sites of positive
	// weight, in either order; never the weight-0 site; scope 0.
	wt := lbSvc("weighted")
	orders := map[string]bool{}
	for i := range 20 {
		client := []string{lbECS(geotest.Frankfurt, 24), lbECS(geotest.Tokyo6, 56)}[i%2]
		for typ, want := range map[string][]string{
			"A":    {"203.0.113.61", "203.0.113.62"},
			"AAAA": {"2001:db8:100::61", "2001:db8:100::62"},
		} {
			a := lbDig(t, p, wt, typ, client)
			lbCheckAnswer(t, a, client, 20)
			if got := slices.Sorted(slices.Values(a.addrs)); !slices.Equal(got, want) || a.scope != 0 {
				t.Errorf("weighted %s %s: got %v scope /%d, want %v in some order at /0; %v", client, typ, a.addrs, a.scope, want, a)
			}
			if typ == "A" {
				orders[strings.Join(a.addrs, " ")] = true
			}
			if i < 2 {
				d := lbExplainJSON(t, e.db, wt, client, typ)
				lbAgree(t, "weighted "+client+" "+typ, d, a, false)
				for _, s := range d.Sites {
					if s.Name == "c" && (s.Chosen || !strings.HasPrefix(s.Why, "not chosen")) {
						t.Errorf("weighted: explain says the weight-0 site c is %q (chosen %v)", s.Why, s.Chosen)
					}
				}
			}
		}
	}
	if len(orders) != 2 {
		t.Errorf("weighted: 20 answers came in orders %v; want both orders drawn", slices.Collect(maps.Keys(orders)))
	}

	// Hash (answers: 2): one order per client /24 or /56, whatever host
	// address or source length the resolver sends, with that scope.
	hash := lbSvc("hash")
	hashVIP := map[string]string{}
	for s, v := range lbGeoVIP {
		hashVIP[v[0]], hashVIP[v[1]] = s, s
	}
	firstSites := map[string]bool{}
	hashGroups := [][]string{
		{"198.51.100.0/24", "198.51.100.7/32", "198.51.100.200/32", "198.51.100.128/25", "::ffff:198.51.100.0/120"},
		{"192.0.2.0/24", "192.0.2.99/32"},
		{"100.64.0.0/24", "100.64.0.0/16"},
		{"198.19.16.0/24", "198.19.16.1/32"},
		{"2001:db8:1::/56", "2001:db8:1::/64", "2001:db8:1:ff::1/128", "2001:db8:1::/48"},
		{"3fff:3::/56", "3fff:3:0:42::/64"},
		{"2001:db8:abcd:1200::/56", "2001:db8:abcd:12ff::/64"},
	}
	t.Run("hash", func(t *testing.T) {
		for _, group := range hashGroups {
			t.Run(group[0], func(t *testing.T) {
				t.Parallel()
				for _, typ := range []string{"A", "AAAA"} {
					var first lbAnswer
					for i, client := range group {
						a := lbDig(t, p, hash, typ, client)
						lbCheckAnswer(t, a, client, 120)
						wantScope := 24
						switch pfx := netip.MustParsePrefix(client); {
						case pfx.Addr().Is4In6():
							wantScope = 96 + 24
						case pfx.Addr().Is6():
							wantScope = 56
						}
						if len(a.addrs) != 2 || a.scope != wantScope {
							t.Errorf("hash %s %s: got %v scope /%d, want 2 VIPs at /%d; %v", client, typ, a.addrs, a.scope, wantScope, a)
						}
						if i == 0 && len(a.addrs) > 0 {
							first = a
							mu.Lock()
							firstSites[hashVIP[a.addrs[0]]] = true
							mu.Unlock()
							d := lbExplainJSON(t, e.db, hash, client, typ)
							lbAgree(t, "hash "+client+" "+typ, d, a, true)
							if want := netip.MustParsePrefix(client).String(); d.Network != want {
								t.Errorf("hash %s: explain says decided by %s, want the hash prefix %s", client, d.Network, want)
							}
							keep(hash, client, typ, a, true)
						} else if !slices.Equal(a.addrs, first.addrs) {
							t.Errorf("hash: %s got %v but %s, in the same network, got %v", client, a.addrs, group[0], first.addrs)
						}
					}
				}
			})
		}
	})
	if len(firstSites) < 2 {
		t.Errorf("hash: %d client networks all went first to %v; want them spread", len(hashGroups), firstSites)
	}

	// explain's text names every site with a state and a reason.
	out := lbCheckExplainText(t, e.db, www, lbECS(geotest.Tokyo, 24), "A",
		map[string]string{"fra": "up", "iad": "up", "gru": "up", "nrt": "up", "syd": "up"})
	for _, want := range []string{"(policy geo)", "country JP", "continent AS", "decided by:  " + geotest.Tokyo.Network.String(),
		"A 203.0.113.40, A 203.0.113.50", "ecs scope:  /20", "ttl:        60"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain text lacks %q:\n%s", want, out)
		}
	}
	lbCheckExplainText(t, e.db, fo, "192.0.2.0/24", "AAAA", map[string]string{"primary": "up", "backup": "up"})
	out = lbCheckExplainText(t, e.db, lbSvc("v4only"), "192.0.2.0/24", "AAAA", map[string]string{"one": "up", "two": "up"})
	if !strings.Contains(out, "no IPv6 VIP") || !strings.Contains(out, "NODATA") {
		t.Errorf("explain of an IPv4-only service for AAAA should say no IPv6 VIP and NODATA:\n%s", out)
	}

	// explain of a name that is not a service fails and says so.
	if r := lbdns(t, nil, "--db", e.db, "explain", "taken.lb.example.com", "--client", "192.0.2.1"); r.code != 1 || !strings.Contains(r.stderr, "not a load-balanced service") {
		t.Errorf("explain of a plain name: want exit 1 saying it is not a service; %v", r)
	}

	// Stopped: explain compiles the database itself, with --geoip, and
	// still agrees with what the server answered.
	if code, ok := p.signal(syscall.SIGTERM, 5*time.Second); !ok || code != 0 {
		t.Fatalf("serve did not stop: exit %d, exited %v", code, ok)
	}
	local := map[string]bool{ // name client type
		www + " " + lbECS(geotest.Frankfurt, 24) + " A":                              true,
		www + " " + lbECS(geotest.Tokyo6, 56) + " AAAA":                              true,
		www + " 2001:db8:1:8000::/56 AAAA":                                           true,
		www + " 10.1.2.0/24 A":                                                       true,
		www + " " + lbECS(geotest.CountryOnly, 24) + " AAAA":                         true,
		www + " " + netip.PrefixFrom(geotest.UnknownV6, 56).Masked().String() + " A": true,
		fo + " " + lbECS(geotest.Paris6, 56) + " A":                                  true,
		hash + " 198.51.100.0/24 AAAA":                                               true,
		hash + " 2001:db8:1::/56 A":                                                  true,
	}
	n := 0
	for _, r := range recorded {
		if !local[r.name+" "+r.client+" "+r.typ] {
			continue
		}
		n++
		d := lbExplainJSON(t, e.db, r.name, r.client, r.typ, "--geoip", e.geoip)
		lbAgree(t, fmt.Sprintf("explain with the server stopped: %s %s %s", r.name, r.client, r.typ), d, r.a, r.ordered)
	}
	if n != len(local) {
		t.Errorf("explained %d recorded answers with the server stopped, want %d", n, len(local))
	}
	t.Logf("%d dig answers compared with explain; %d of them again with the server stopped", len(recorded), n)
}

// ---- 4-5. site admin while serving; fallbacks; NODATA ----

// lbSite runs `lbdns site VERB SERVICE SITE` and returns its output and
// when it was run.
func lbSite(t *testing.T, db, verb, svc, site string) (string, time.Time, time.Time) {
	t.Helper()
	before := time.Now()
	out := mustRun(t, db, "site", verb, svc, site).stdout
	return out, before, time.Now()
}

// lbCheckDrainOutput checks that a drain or disable says the state and when
// resolver caches expire: TTL seconds after the command ran.
func lbCheckDrainOutput(t *testing.T, out, svc, site, state string, ttl int, before, after time.Time) {
	t.Helper()
	if !strings.HasPrefix(out, fmt.Sprintf("site %s of %s. is %s\n", site, svc, state)) {
		t.Errorf("site %s printed %q", state, out)
	}
	m := regexp.MustCompile(`up to (\d+)s, until (\S+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("site %s does not say when cached answers expire: %q", state, out)
	}
	if m[1] != strconv.Itoa(ttl) {
		t.Errorf("site %s says caches hold it %ss, want the TTL %ds: %q", state, m[1], ttl, out)
	}
	until, err := time.Parse(time.RFC3339, m[2])
	if err != nil {
		t.Fatalf("site %s: expiry %q: %v", state, m[2], err)
	}
	lo := before.Add(time.Duration(ttl)*time.Second - time.Second)
	hi := after.Add(time.Duration(ttl)*time.Second + time.Second)
	if until.Before(lo) || until.After(hi) {
		t.Errorf("site %s says caches expire at %v, want now + %ds (%v..%v)", state, until, ttl, lo.UTC(), hi.UTC())
	}
}

func TestE2ELBSiteAdmin(t *testing.T) {
	t.Parallel()
	e := setupLB(t)
	p := e.serve(t)
	tokyo, paris6 := lbECS(geotest.Tokyo, 24), lbECS(geotest.Paris6, 56)

	// Drain iad of the "all" service: its VIPs leave at once.
	all := lbSvc("all")
	full := map[string][]string{
		"A":    {"203.0.113.10", "203.0.113.20", "203.0.113.23", "203.0.113.40"},
		"AAAA": {"2001:db8:100::10", "2001:db8:100::20", "2001:db8:100::40"},
	}
	without := map[string][]string{
		"A":    {"203.0.113.10", "203.0.113.40"},
		"AAAA": {"2001:db8:100::10", "2001:db8:100::40"},
	}
	answersAre := func(name, client string, want map[string][]string) func() (bool, string) {
		return func() (bool, string) {
			var last []string
			for typ, w := range want {
				a := lbDig(t, p, name, typ, client)
				got := slices.Sorted(slices.Values(a.addrs))
				if a.status != "NOERROR" || !slices.Equal(got, w) {
					return false, a.String()
				}
				last = append(last, a.String())
			}
			return true, strings.Join(last, "\n")
		}
	}
	if ok, last := answersAre(all, tokyo, full)(); !ok {
		t.Fatalf("before drain: want every VIP; %s", last)
	}
	out, before, after := lbSite(t, e.db, "drain", all, "iad")
	lbCheckDrainOutput(t, out, all, "iad", "drained", 30, before, after)
	within(t, before, visibleWithin, "drained site iad leaves the answers", answersAre(all, tokyo, without))
	lbCheckExplainText(t, e.db, all, tokyo, "A", map[string]string{"fra": "up", "iad": "drained", "nrt": "up"})
	d := lbExplainJSON(t, e.db, all, tokyo, "A")
	for _, s := range d.Sites {
		if s.Name == "iad" && (s.Chosen || s.State.Up || s.State.Admin != "drained" || !strings.Contains(s.Why, "drained")) {
			t.Errorf("explain of drained iad: %+v", s)
		}
	}
	var infos []zones.ServiceInfo
	if err := json.Unmarshal([]byte(mustRun(t, e.db, "service", "list", "--json").stdout), &infos); err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.Name == all+"." && i.Admin["iad"] != "drained" {
			t.Errorf("service list --json shows %s admin %v, want iad drained", i.Name, i.Admin)
		}
	}
	if out := mustRun(t, e.db, "service", "list").stdout; !strings.Contains(out, "iad (drained)") {
		t.Errorf("service list does not show iad drained:\n%s", out)
	}

	out, before, _ = lbSite(t, e.db, "enable", all, "iad")
	if out != fmt.Sprintf("site iad of %s. is enabled\n", all) {
		t.Errorf("site enable printed %q", out)
	}
	within(t, before, visibleWithin, "enabled site iad is answered again", answersAre(all, tokyo, full))

	// Drain the CIDR-map site of the geo service: its clients go where
	// GeoIP puts them, and the GeoIP network decides the scope.
	www := lbSvc("www")
	_, before, _ = lbSite(t, e.db, "drain", www, "gru")
	within(t, before, visibleWithin, "mapped clients leave drained gru", func() (bool, string) {
		a := lbDig(t, p, www, "A", "198.18.128.0/24")
		return slices.Equal(a.addrs, []string{lbGeoVIP["fra"][0], lbGeoVIP["iad"][0]}), a.String()
	})
	for _, c := range []struct {
		client string
		scope  int
	}{{"198.18.128.0/24", geotest.Frankfurt.Network.Bits()}, {"2001:db8:1:8000::/56", geotest.Frankfurt6.Network.Bits()}} {
		for fam, typ := range []string{"A", "AAAA"} {
			a := lbDig(t, p, www, typ, c.client)
			lbCheckAnswer(t, a, c.client, 60)
			if want := []string{lbGeoVIP["fra"][fam], lbGeoVIP["iad"][fam]}; !slices.Equal(a.addrs, want) || a.scope != c.scope {
				t.Errorf("mapped client %s %s with gru drained: got %v scope /%d, want %v (GeoIP) scope /%d; %v", c.client, typ, a.addrs, a.scope, want, c.scope, a)
			}
			lbAgree(t, "mapped client with gru drained "+c.client+" "+typ, lbExplainJSON(t, e.db, www, c.client, typ), a, true)
		}
	}
	_, before, _ = lbSite(t, e.db, "enable", www, "gru")
	within(t, before, visibleWithin, "mapped clients back on gru", func() (bool, string) {
		a := lbDig(t, p, www, "AAAA", "2001:db8:1:8000::/56")
		return slices.Equal(a.addrs, []string{lbGeoVIP["gru"][1], lbGeoVIP["fra"][1]}) && a.scope == 56, a.String()
	})

	// Disable the failover primary: the backup answers, then not.
	fo := lbSvc("failover")
	primary := map[string][]string{"A": {"203.0.113.21", "203.0.113.22"}, "AAAA": {"2001:db8:100::21"}}
	backup := map[string][]string{"A": {"203.0.113.11"}, "AAAA": {"2001:db8:100::11"}}
	out, before, after = lbSite(t, e.db, "disable", fo, "primary")
	lbCheckDrainOutput(t, out, fo, "primary", "disabled", 45, before, after)
	within(t, before, visibleWithin, "failover to the backup", answersAre(fo, paris6, backup))
	lbCheckExplainText(t, e.db, fo, paris6, "AAAA", map[string]string{"primary": "disabled", "backup": "up"})
	_, before, _ = lbSite(t, e.db, "enable", fo, "primary")
	within(t, before, visibleWithin, "failback to the primary", answersAre(fo, paris6, primary))

	// Every site drained: never NXDOMAIN. fallback all answers as if all
	// were up (geo still steers), none gives NODATA, sorry the sorry VIPs.
	for _, svc := range []string{"fb-all", "fb-none", "fb-sorry"} {
		name := lbSvc(svc)
		sites := []string{"x", "y"}
		if svc == "fb-all" {
			sites = []string{"fra", "nrt"}
		}
		var last time.Time
		for _, s := range sites {
			out, before, after := lbSite(t, e.db, "drain", name, s)
			lbCheckDrainOutput(t, out, name, s, "drained", 25, before, after)
			last = before
		}
		switch svc {
		case "fb-all":
			within(t, last, visibleWithin, "fallback all, every site drained", func() (bool, string) {
				for client, want := range map[string][]string{
					tokyo:  {"203.0.113.40", "2001:db8:100::40"},
					paris6: {"203.0.113.10", "2001:db8:100::10"},
				} {
					for fam, typ := range []string{"A", "AAAA"} {
						a := lbDig(t, p, name, typ, client)
						if a.status != "NOERROR" || !slices.Equal(a.addrs, want[fam:fam+1]) {
							return false, a.String()
						}
					}
				}
				return true, ""
			})
			for _, client := range []string{tokyo, paris6} {
				a := lbDig(t, p, name, "A", client)
				lbCheckAnswer(t, a, client, 25)
				d := lbExplainJSON(t, e.db, name, client, "A")
				lbAgree(t, "fallback all "+client, d, a, true)
				if d.Fallback != "all" {
					t.Errorf("explain with every site drained says fallback %q, want all", d.Fallback)
				}
			}
			out := lbCheckExplainText(t, e.db, name, tokyo, "A", map[string]string{"fra": "drained", "nrt": "drained"})
			if !strings.Contains(out, "fallback:") {
				t.Errorf("explain with every site drained does not say it fell back:\n%s", out)
			}
		case "fb-none":
			within(t, last, visibleWithin, "fallback none, every site drained: NODATA", func() (bool, string) {
				a := lbDig(t, p, name, "A", tokyo)
				return a.status == "NOERROR" && len(a.addrs) == 0, a.String()
			})
			for _, typ := range []string{"A", "AAAA"} {
				for _, client := range []string{tokyo, paris6} {
					a := lbDig(t, p, name, typ, client)
					lbCheckNODATA(t, a)
					d := lbExplainJSON(t, e.db, name, client, typ)
					if len(d.Addrs) != 0 || d.Fallback != "none" {
						t.Errorf("fallback none: explain says %v, fallback %q; dig got NODATA", d.Addrs, d.Fallback)
					}
				}
			}
		case "fb-sorry":
			within(t, last, visibleWithin, "fallback sorry, every site drained: the sorry address", answersAre(name, tokyo,
				map[string][]string{"A": {"198.51.100.99"}, "AAAA": {"2001:db8:ffff::99"}}))
			for typ, want := range map[string]string{"A": "198.51.100.99", "AAAA": "2001:db8:ffff::99"} {
				a := lbDig(t, p, name, typ, paris6)
				lbCheckAnswer(t, a, paris6, 25)
				if !slices.Equal(a.addrs, []string{want}) {
					t.Errorf("fallback sorry %s: got %v, want %s; %v", typ, a.addrs, want, a)
				}
				d := lbExplainJSON(t, e.db, name, paris6, typ)
				lbAgree(t, "fallback sorry "+typ, d, a, true)
				if d.Fallback != "sorry" {
					t.Errorf("explain says fallback %q, want sorry", d.Fallback)
				}
			}
		}
	}

	// A service without IPv6 VIPs: AAAA is NODATA, A is answered.
	v4 := lbSvc("v4only")
	for _, client := range []string{tokyo, paris6} {
		lbCheckNODATA(t, lbDig(t, p, v4, "AAAA", client))
		a := lbDig(t, p, v4, "A", client)
		lbCheckAnswer(t, a, client, 40)
		if got := slices.Sorted(slices.Values(a.addrs)); !slices.Equal(got, []string{"203.0.113.71", "203.0.113.72"}) {
			t.Errorf("v4only A: got %v; %v", a.addrs, a)
		}
		if d := lbExplainJSON(t, e.db, v4, client, "AAAA"); len(d.Addrs) != 0 {
			t.Errorf("explain says %v for AAAA of an IPv4-only service; dig got NODATA", d.Addrs)
		}
	}
	// ... even with every site drained and fallback all.
	for _, s := range []string{"one", "two"} {
		lbSite(t, e.db, "drain", v4, s)
	}
	within(t, time.Now(), visibleWithin, "IPv4-only service, every site drained: A under fallback all", answersAre(v4, tokyo,
		map[string][]string{"A": {"203.0.113.71", "203.0.113.72"}}))
	lbCheckNODATA(t, lbDig(t, p, v4, "AAAA", tokyo))
	// Without ECS, and for other types, a service name is never NXDOMAIN.
	for _, typ := range []string{"A", "AAAA", "TXT", "MX"} {
		for _, svc := range []string{"www", "fb-none", "v4only"} {
			d := p.dig(t, lbSvc(svc), typ)
			if d.status != "NOERROR" || !d.hasFlag("aa") {
				t.Errorf("dig %s %s without ECS: want NOERROR with aa; %v", lbSvc(svc), typ, d)
			}
		}
	}
}

// ---- 6. bad service files change nothing ----

// lbLineOf is the 1-based line of text holding marker.
func lbLineOf(t *testing.T, text, marker string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no %q in\n%s", marker, text)
	return 0
}

// lbState is everything a refused apply must leave as it was.
func lbState(t *testing.T, db string) (services string, serial uint32) {
	t.Helper()
	var info zones.ZoneInfo
	if err := json.Unmarshal([]byte(mustRun(t, db, "zone", "show", lbZone, "--json").stdout), &info); err != nil {
		t.Fatal(err)
	}
	return mustRun(t, db, "service", "list", "--json").stdout, info.Serial
}

func TestE2ELBBadServiceFiles(t *testing.T) {
	t.Parallel()
	e := setupLB(t)
	const site = "    sites:\n      - name: fra\n        vips: [203.0.113.10]\n"
	cases := []struct {
		name   string
		text   string
		marker string // on the line the message must name
		field  string // the field path the message must name
		also   string
	}{
		{"bad VIP", "services:\n  - name: new.lb.example.com\n    sites:\n      - name: fra\n        vips: [203.0.113.10, 203.0.113.300]\n",
			"203.0.113.300", "services[0].sites[0].vips[1]", "203.0.113.300"},
		{"name outside every zone", "services:\n  - name: www.example.org\n" + site,
			"www.example.org", "services[0].name", "www.example.org"},
		{"second service fails validation", "services:\n  - name: new.lb.example.com\n" + site +
			"  - name: new2.lb.example.com\n    policy: nearest\n" + site,
			"nearest", "services[1].policy", "nearest"},
		{"third service outside every zone, after a new and a changed one", "services:\n  - name: new.lb.example.com\n" + site +
			"  - name: all.lb.example.com\n    ttl: 5\n" + site +
			"  - name: www.example.org\n" + site,
			"www.example.org", "services[2].name", "no served zone"},
		{"name already has an A record", "services:\n  - name: new.lb.example.com\n" + site + "  - name: taken.lb.example.com\n" + site,
			"taken.lb", "services[1].name", "already has A records"},
		{"unknown field", "services:\n  - name: new.lb.example.com\n    sites:\n      - name: fra\n        vip: [203.0.113.10]\n",
			"vip:", "services[0].sites[0].vip", "vip"},
	}
	files := map[string]string{}
	for _, c := range cases {
		files[c.name] = writeFile(t, strings.ReplaceAll(c.name, " ", "-")+".yaml", c.text)
	}

	stderrs := map[string]string{}
	run := func(t *testing.T, p *proc) {
		services, serial := lbState(t, e.db)
		var soa uint32
		if p != nil {
			soa = soaSerial(t, p.dig(t, lbZone, "SOA"))
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				file := files[c.name]
				r := lbdns(t, nil, "--db", e.db, "service", "apply", "-f", file)
				if r.code != 1 || r.stdout != "" {
					t.Errorf("want exit 1 and nothing on stdout; %v", r)
				}
				loc := fmt.Sprintf("%s:%d: ", file, lbLineOf(t, c.text, c.marker))
				for _, want := range []string{"lbdns: " + loc, c.field, c.also} {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("message %q lacks %q", strings.TrimSpace(r.stderr), want)
					}
				}
				if prev, ok := stderrs[c.name]; ok && prev != r.stderr {
					t.Errorf("with the server running the message is %q; with it stopped %q", r.stderr, prev)
				}
				stderrs[c.name] = r.stderr
				if s, n := lbState(t, e.db); s != services || n != serial {
					t.Errorf("a refused apply changed the database: serial %d (was %d), services:\n%s\nwere:\n%s", n, serial, s, services)
				}
				if p != nil {
					if n := soaSerial(t, p.dig(t, lbZone, "SOA")); n != soa {
						t.Errorf("served SOA serial %d after a refused apply, was %d", n, soa)
					}
					if a := p.dig(t, "new.lb.example.com", "A"); a.status != "NXDOMAIN" {
						t.Errorf("a service of a refused file is answered; %v", a)
					}
				}
			})
		}
	}
	t.Run("stopped", func(t *testing.T) { run(t, nil) })
	t.Run("serving", func(t *testing.T) {
		p := e.serve(t)
		run(t, p)
		if !strings.Contains(p.stderr.String(), `msg="admin: apply services`) {
			t.Errorf("no apply reached the admin API (checks against the zones happen there); server log:\n%s", p.stderr)
		}
	})
}

// ---- 7. show, re-apply, delete ----

func TestE2ELBShowApplyDelete(t *testing.T) {
	t.Parallel()
	e := setupLB(t)
	p := e.serve(t)
	www := lbSvc("www")
	ny := lbECS(geotest.NewYork, 24)

	// A drained site stays drained through a re-apply of the same service.
	_, before, _ := lbSite(t, e.db, "drain", www, "iad")
	within(t, before, visibleWithin, "iad drained", func() (bool, string) {
		a := lbDig(t, p, www, "A", ny)
		return a.status == "NOERROR" && !slices.Contains(a.addrs, lbGeoVIP["iad"][0]), a.String()
	})

	services, serial := lbState(t, e.db)
	answerBefore := lbDig(t, p, www, "A", ny)
	for short := range lbServiceNames {
		name := lbSvc(short)
		shown := mustRun(t, e.db, "service", "show", name).stdout
		if _, err := zones.ParseServices("show", shown); err != nil {
			t.Errorf("service show %s printed a file that does not parse: %v\n%s", name, err, shown)
		}
		cmd := lbdnsCommand(t.Context(), t, nil, "--db", e.db, "service", "apply", "-f", "-")
		cmd.Stdin = strings.NewReader(shown)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("service apply -f - of `service show %s`: %v\n%s\n%s", name, err, out, shown)
		}
		if !strings.HasPrefix(string(out), "applied "+name+". (") {
			t.Errorf("service apply -f - printed %q", out)
		}
		if again := mustRun(t, e.db, "service", "show", name).stdout; again != shown {
			t.Errorf("service show %s changed by re-applying it:\n%s\nwas:\n%s", name, again, shown)
		}
	}
	after, serialAfter := lbState(t, e.db)
	if after != services {
		t.Errorf("service list --json changed by re-applying every service as shown:\n%s\nwas:\n%s", after, services)
	}
	if serialAfter <= serial {
		t.Errorf("zone serial %d after re-applying, was %d; want it bumped", serialAfter, serial)
	}
	within(t, time.Now(), visibleWithin, "the new serial served", func() (bool, string) {
		d := p.dig(t, lbZone, "SOA")
		return soaSerial(t, d) == serialAfter, d.String()
	})
	if a := lbDig(t, p, www, "A", ny); !slices.Equal(a.addrs, answerBefore.addrs) || a.scope != answerBefore.scope {
		t.Errorf("answer changed by re-applying: %v scope /%d, was %v scope /%d", a.addrs, a.scope, answerBefore.addrs, answerBefore.scope)
	}

	// Delete: the name is gone, NXDOMAIN with the SOA, for both families.
	lbSite(t, e.db, "drain", www, "fra") // admin state goes with the service
	r := mustRun(t, e.db, "service", "delete", www)
	deleted := time.Now()
	if r.stdout != "deleted service "+www+".\n" {
		t.Errorf("service delete printed %q", r.stdout)
	}
	for _, typ := range []string{"A", "AAAA"} {
		within(t, deleted, visibleWithin, "deleted service NXDOMAIN for "+typ, func() (bool, string) {
			a := lbDig(t, p, www, typ, ny)
			return a.status == "NXDOMAIN", a.String()
		})
		a := lbDig(t, p, www, typ, ny)
		if !a.hasFlag("aa") || len(a.sections["ANSWER"]) != 0 || len(a.sections["AUTHORITY"]) != 1 || !strings.Contains(a.sections["AUTHORITY"][0], "SOA") {
			t.Errorf("NXDOMAIN without aa, or with an answer, or without the SOA; %v", a)
		}
	}
	if n := soaSerial(t, p.dig(t, lbZone, "SOA")); n <= serialAfter {
		t.Errorf("SOA serial %d after service delete, was %d", n, serialAfter)
	}
	if r := lbdns(t, nil, "--db", e.db, "service", "show", www); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("service show of a deleted service: %v", r)
	}
	if r := lbdns(t, nil, "--db", e.db, "explain", www, "--client", ny); r.code != 1 || !strings.Contains(r.stderr, "not a load-balanced service") {
		t.Errorf("explain of a deleted service: %v", r)
	}
	if s, _ := lbState(t, e.db); strings.Contains(s, `"`+www+`."`) {
		t.Errorf("service list --json still lists %s:\n%s", www, s)
	}

	// Applied again, it starts with every site enabled.
	mustRun(t, e.db, "service", "apply", "-f", e.file)
	within(t, time.Now(), visibleWithin, "re-created service answered with every site", func() (bool, string) {
		a := lbDig(t, p, www, "A", ny)
		return slices.Equal(a.addrs, []string{lbGeoVIP["iad"][0], lbGeoVIP["fra"][0]}), a.String()
	})
}

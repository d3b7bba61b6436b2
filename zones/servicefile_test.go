package zones

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// exampleServices is the service file from the documentation.
const exampleServices = `services:
  - name: www.lb.example.com
    ttl: 20
    policy: geo
    answers: 2
    fallback: all
    sorry: [192.0.2.99]
    health: {kind: http, port: 8080, path: /healthz, expect: [200], interval: 2s, timeout: 1s, rise: 2, fall: 2}
    sites:
      - name: fra
        vips: [203.0.113.10, "2001:db8:f::10"]
        location: {lat: 50.11, lon: 8.68, country: DE, continent: EU}
        clients: [198.51.100.0/24]
        weight: 100
        priority: 1
        min_healthy: 1
        director: {mode: nat, scheduler: wlc, port: 80, protocol: tcp}
        real_servers:
          - {address: 10.1.0.11, port: 8080, weight: 3}
          - {address: 10.1.0.12, port: 8080}
      - name: iad
        vips: [198.51.100.10]
        location: {lat: 38.95, lon: -77.45, country: US, continent: NA}
`

// minimalServices leaves every optional field out, and spells addresses
// and the name in ways that normalise.
const minimalServices = `services:
  - name: API.LB.example.com.
    sites:
      - name: fra
        vips: ["::ffff:203.0.113.20", "2001:DB8:F::20"]
        director: {mode: dr, port: 443}
        real_servers:
          - {address: "2001:DB8::1"}
`

func intp(v int) *int           { return &v }
func f64p(v float64) *float64   { return &v }
func strs(v ...string) []string { return v }

// dump renders v for failure messages; pointers are followed.
func dump(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return string(b)
}

func exampleWant() Service {
	return Service{
		Name:     "www.lb.example.com.",
		TTL:      20,
		Policy:   PolicyGeo,
		Answers:  2,
		Fallback: FallbackAll,
		Sorry:    strs("192.0.2.99"),
		Initial:  "down",
		Health: &Health{Kind: "http", Port: 8080, Path: "/healthz", Expect: []int{200},
			Interval: "2s", Timeout: "1s", Rise: 2, Fall: 2},
		Sites: []Site{
			{
				Name:       "fra",
				VIPs:       strs("203.0.113.10", "2001:db8:f::10"),
				Location:   &SiteLoc{Lat: f64p(50.11), Lon: f64p(8.68), Country: "DE", Continent: "EU"},
				Clients:    strs("198.51.100.0/24"),
				Weight:     intp(100),
				Priority:   1,
				MinHealthy: intp(1),
				Director:   &Director{Mode: "nat", Scheduler: "wlc", Port: 80, Protocol: "tcp"},
				RealServers: []RealServer{
					{Address: "10.1.0.11", Port: 8080, Weight: intp(3)},
					{Address: "10.1.0.12", Port: 8080, Weight: intp(1)},
				},
			},
			{
				Name:       "iad",
				VIPs:       strs("198.51.100.10"),
				Location:   &SiteLoc{Lat: f64p(38.95), Lon: f64p(-77.45), Country: "US", Continent: "NA"},
				Weight:     intp(DefaultSiteWeight),
				MinHealthy: intp(1),
			},
		},
	}
}

func minimalWant() Service {
	return Service{
		Name:     "api.lb.example.com.",
		TTL:      DefaultServiceTTL,
		Policy:   PolicyGeo,
		Answers:  1,
		Fallback: FallbackAll,
		Initial:  "down",
		Sites: []Site{{
			Name:        "fra",
			VIPs:        strs("203.0.113.20", "2001:db8:f::20"),
			Weight:      intp(DefaultSiteWeight),
			MinHealthy:  intp(1),
			Director:    &Director{Mode: "dr", Scheduler: "wlc", Port: 443, Protocol: "tcp"},
			RealServers: []RealServer{{Address: "2001:db8::1", Weight: intp(1)}},
		}},
	}
}

func TestParseServices(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Service
	}{
		{"example", exampleServices, []Service{exampleWant()}},
		{"defaults and normalisation", minimalServices, []Service{minimalWant()}},
		{"explicit zero answers and ttl are defaults", `services:
  - name: a.lb.example.com
    ttl: 0
    answers: 0
    sites:
      - {name: x, vips: [192.0.2.1]}
`, []Service{{
			Name: "a.lb.example.com.", TTL: DefaultServiceTTL, Policy: PolicyGeo, Answers: 1,
			Fallback: FallbackAll, Initial: "down",
			Sites: []Site{{Name: "x", VIPs: strs("192.0.2.1"), Weight: intp(DefaultSiteWeight), MinHealthy: intp(1)}},
		}}},
		{"explicit zero weights are kept", `services:
  - name: a.lb.example.com
    fallback: sorry
    sorry: ["2001:db8::99"]
    initial: up
    answers: 64
    ttl: 3600
    sites:
      - name: x
        vips: [192.0.2.1]
        weight: 0
        min_healthy: 0
        director: {mode: tun, scheduler: rr, port: 53, protocol: udp}
        real_servers:
          - {address: 10.0.0.1, weight: 0}
`, []Service{{
			Name: "a.lb.example.com.", TTL: 3600, Policy: PolicyGeo, Answers: 64,
			Fallback: FallbackSorry, Sorry: strs("2001:db8::99"), Initial: "up",
			Sites: []Site{{
				Name: "x", VIPs: strs("192.0.2.1"), Weight: intp(0), MinHealthy: intp(0),
				Director:    &Director{Mode: "tun", Scheduler: "rr", Port: 53, Protocol: "udp"},
				RealServers: []RealServer{{Address: "10.0.0.1", Weight: intp(0)}},
			}},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseServices("svc.yaml", tt.text)
			if err != nil {
				t.Fatalf("ParseServices: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseServices:\n got %s\nwant %s", dump(t, got), dump(t, tt.want))
			}
		})
	}
}

// TestMarshalServicesRoundTrip checks that what `service show` prints can
// be applied again unchanged.
func TestMarshalServicesRoundTrip(t *testing.T) {
	for _, text := range []string{exampleServices, minimalServices, exampleServices + `  - name: second.lb.example.com
    policy: hash
    initial: up
    health: {kind: dns, query: example.com., query_type: AAAA, jitter: 100ms, probe_address: "2001:db8::53", probe_port: 5353, insecure: true}
    sites:
      - name: a_1
        vips: [192.0.2.7]
        vip_check: {kind: exec, command: [/bin/true, -x]}
        real_servers:
          - {address: 10.0.0.1, health: {kind: https, host: h.example, method: HEAD, body: ok}}
`} {
		first, err := ParseServices("in.yaml", text)
		if err != nil {
			t.Fatalf("ParseServices: %v", err)
		}
		out, err := MarshalServices(first)
		if err != nil {
			t.Fatalf("MarshalServices: %v", err)
		}
		again, err := ParseServices("out.yaml", string(out))
		if err != nil {
			t.Fatalf("re-parse of MarshalServices output: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(first, again) {
			t.Errorf("round trip changed:\n got %s\nwant %s\nyaml:\n%s", dump(t, again), dump(t, first), out)
		}
		out2, err := MarshalServices(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(out2) {
			t.Errorf("MarshalServices is not stable:\n%s\n---\n%s", out, out2)
		}
	}
}

// markedLine is the 1-based line of text holding the marker "#<", or 0.
func markedLine(t *testing.T, text string) int {
	t.Helper()
	line := 0
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "#<") {
			if line != 0 {
				t.Fatalf("two #< markers in test input")
			}
			line = i + 1
		}
	}
	return line
}

// TestParseServicesRefusals checks every validation rule is refused with
// the field path and the line (marked "#<" in the input) of the culprit.
func TestParseServicesRefusals(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		field string // "" for YAML-level errors, which carry only a line
		msg   string
	}{
		// Service level.
		{"bad name", `services:
  - name: www..lb.example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "empty label"},
		{"name missing", `services:
  - ttl: 20 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "required"},
		{"ttl too high", `services:
  - name: www.lb.example.com
    ttl: 3601 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].ttl", "3601 is out of range 1..3600"},
		{"unknown policy", `services:
  - name: www.lb.example.com
    policy: nearest #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].policy", `"nearest" is not one of`},
		{"answers negative", `services:
  - name: www.lb.example.com
    answers: -1 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].answers", "-1 is out of range 1..64"},
		{"answers too many", `services:
  - name: www.lb.example.com
    answers: 65 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].answers", "65 is out of range 1..64"},
		{"unknown fallback", `services:
  - name: www.lb.example.com
    fallback: nxdomain #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].fallback", `"nxdomain" is not one of`},
		{"fallback sorry without sorry", `services:
  - name: www.lb.example.com #<
    fallback: sorry
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].sorry", "fallback: sorry needs at least one address"},
		{"bad sorry address", `services:
  - name: www.lb.example.com
    fallback: sorry
    sorry:
      - 192.0.2.99
      - sorry.example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].sorry[1]", `"sorry.example.com" is not an IP address`},
		{"unknown initial", `services:
  - name: www.lb.example.com
    initial: maybe #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].initial", `"maybe" is not one of`},
		{"no sites key", `services:
  - name: www.lb.example.com #<
    ttl: 20
`, "services[0].sites", "at least one site"},
		{"empty sites", `services:
  - name: www.lb.example.com
    sites: [] #<
`, "services[0].sites", "at least one site"},

		// Sites.
		{"duplicate site name", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
      - name: fra #<
        vips: [192.0.2.2]
`, "services[0].sites[1].name", "site fra is listed twice"},
		{"bad site name", `services:
  - name: www.lb.example.com
    sites:
      - name: FRA #<
        vips: [192.0.2.1]
`, "services[0].sites[0].name", `"FRA" is not a site name`},
		{"site name with a dot", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
      - name: fra.2 #<
        vips: [192.0.2.2]
`, "services[0].sites[1].name", "not a site name"},
		{"no vips", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [] #<
`, "services[0].sites[0].vips", "at least one VIP"},
		{"vips missing", `services:
  - name: www.lb.example.com
    sites:
      - name: fra #<
`, "services[0].sites[0].vips", "at least one VIP"},
		{"wildcard service name", `services:
  - name: "*.lb.example.com" #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "cannot be a wildcard"},
		{"IPv4-mapped client prefix", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        clients:
          - "::ffff:10.0.0.0/104" #<
`, "services[0].sites[0].clients[0]", "IPv4-mapped"},
		{"exec check without a command", `services:
  - name: www.lb.example.com
    health: {kind: exec}
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - {address: 10.1.0.1, port: 80} #<
`, "services[0].sites[0].real_servers[0]", "needs a command"},
		{"dns check without a query", `services:
  - name: www.lb.example.com
    health: {kind: dns, port: 53}
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - {address: 10.1.0.1} #<
`, "services[0].sites[0].real_servers[0]", "needs a query"},
		{"health check with no port", `services:
  - name: www.lb.example.com
    health: {kind: http, path: /}
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - {address: 10.1.0.1} #<
`, "services[0].sites[0].real_servers[0]", "which port"},
		{"bad VIP", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips:
          - 203.0.113.300 #<
`, "services[0].sites[0].vips[0]", `"203.0.113.300" is not an IP address`},
		{"VIP with zone", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips:
          - 203.0.113.10
          - "fe80::1%eth0" #<
`, "services[0].sites[0].vips[1]", `"fe80::1%eth0" is not an IP address`},
		{"multicast VIP", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [224.0.0.1] #<
`, "services[0].sites[0].vips[0]", "not a unicast address"},
		{"duplicate VIP", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips:
          - 203.0.113.10
          - "::ffff:203.0.113.10" #<
`, "services[0].sites[0].vips[1]", "203.0.113.10 is listed twice"},
		{"lat without lon", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location: #<
          lat: 50.11
`, "services[0].sites[0].location", "lat and lon go together"},
		{"lat out of range", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location:
          lat: 91 #<
          lon: 8.68
`, "services[0].sites[0].location.lat", "91 is out of range -90..90"},
		{"lon out of range", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location:
          lat: 50
          lon: -181 #<
`, "services[0].sites[0].location.lon", "-181 is out of range -180..180"},
		{"lower-case country", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location:
          country: de #<
`, "services[0].sites[0].location.country", `"de" is not an ISO 3166 alpha-2 code`},
		{"unknown continent", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location: {continent: XX} #<
`, "services[0].sites[0].location.continent", `"XX" is not one of`},
		{"client prefix not CIDR", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        clients:
          - 198.51.100.0 #<
`, "services[0].sites[0].clients[0]", "is not a CIDR prefix"},
		{"client prefix with host bits", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        clients:
          - 198.51.100.0/24
          - 10.1.2.3/16 #<
`, "services[0].sites[0].clients[1]", "10.1.2.3/16 has host bits set (did you mean 10.1.0.0/16?)"},
		{"client prefix in two sites", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        clients: [198.51.100.0/24]
      - name: iad
        vips: [192.0.2.2]
        clients:
          - "2001:db8:1::/48"
          - 198.51.100.0/24 #<
`, "services[0].sites[1].clients[1]", "198.51.100.0/24 is also mapped to site fra"},
		{"weight too high", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        weight: 70000 #<
`, "services[0].sites[0].weight", "70000 is out of range 0..65535"},
		{"negative weight", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        weight: -1 #<
`, "services[0].sites[0].weight", "-1 is out of range 0..65535"},
		{"negative priority", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        priority: -1 #<
`, "services[0].sites[0].priority", "-1 is negative"},
		{"min_healthy above real servers", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        min_healthy: 3 #<
        director: {mode: nat, port: 80}
        real_servers:
          - {address: 10.0.0.1}
          - {address: 10.0.0.2}
`, "services[0].sites[0].min_healthy", "3 exceeds the 2 real servers"},

		// Director and real servers.
		{"unknown director mode", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director:
          mode: foo #<
          port: 80
`, "services[0].sites[0].director.mode", `"foo" is not one of`},
		{"director port 0", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director:
          mode: nat
          port: 0 #<
`, "services[0].sites[0].director.port", "0 is out of range 1..65535"},
		{"director port missing", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director: {mode: nat} #<
`, "services[0].sites[0].director.port", "0 is out of range 1..65535"},
		{"unknown scheduler", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director:
          mode: nat
          port: 80
          scheduler: bogus #<
`, "services[0].sites[0].director.scheduler", `"bogus" is not one of`},
		{"unknown protocol", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director:
          mode: nat
          port: 80
          protocol: icmp #<
`, "services[0].sites[0].director.protocol", `"icmp" is not one of`},
		{"negative persistence", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        director:
          mode: nat
          port: 80
          persistence: -1 #<
`, "services[0].sites[0].director.persistence", "-1 is negative"},
		{"real server bad address", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - address: 10.0.0.1
          - address: backend.example #<
`, "services[0].sites[0].real_servers[1].address", `"backend.example" is not an IP address`},
		{"real server port too high", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - address: 10.0.0.1
            port: 70000 #<
`, "services[0].sites[0].real_servers[0].port", "70000 is out of range 0..65535"},
		{"real server weight too high", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - {address: 10.0.0.1, weight: 65536} #<
`, "services[0].sites[0].real_servers[0].weight", "65536 is out of range 0..65535"},

		// Health blocks, at every level that has one.
		{"health kind", `services:
  - name: www.lb.example.com
    health:
      kind: icmp #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.kind", `"icmp" is not one of`},
		{"health interval", `services:
  - name: www.lb.example.com
    health:
      kind: tcp
      interval: soon #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.interval", `"soon" is not a duration`},
		{"health negative timeout", `services:
  - name: www.lb.example.com
    health: {timeout: -1s} #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.timeout", `"-1s" is not a duration`},
		{"health expect", `services:
  - name: www.lb.example.com
    health:
      kind: http
      expect:
        - 200
        - 42 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.expect[1]", "42 is not an HTTP status"},
		{"health probe_address", `services:
  - name: www.lb.example.com
    health:
      probe_address: 10.0.0.256 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.probe_address", `"10.0.0.256" is not an IP address`},
		{"health port", `services:
  - name: www.lb.example.com
    health:
      port: 65536 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.port", "65536 is out of range 0..65535"},
		{"health probe_port", `services:
  - name: www.lb.example.com
    health:
      probe_port: -1 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.probe_port", "-1 is out of range 0..65535"},
		{"health rise", `services:
  - name: www.lb.example.com
    health: #<
      rise: -1
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health", "rise and fall"},
		{"health query_type", `services:
  - name: www.lb.example.com
    health:
      kind: dns
      query_type: AAA #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].health.query_type", `"AAA" is not a DNS type`},
		{"site health interval", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        health:
          interval: soon #<
`, "services[0].sites[0].health.interval", `"soon" is not a duration`},
		{"site vip_check kind", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        vip_check:
          kind: icmp #<
`, "services[0].sites[0].vip_check.kind", `"icmp" is not one of`},
		{"real server health expect", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - address: 10.0.0.1
            health:
              expect: [42] #<
`, "services[0].sites[0].real_servers[0].health.expect[0]", "42 is not an HTTP status"},
		{"real server health probe_address", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        real_servers:
          - address: 10.0.0.1
            health:
              probe_address: nowhere #<
`, "services[0].sites[0].real_servers[0].health.probe_address", `"nowhere" is not an IP address`},

		// Errors in a later service point into that service.
		{"second service invalid", exampleServices + `  - name: api.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        weight: 70000 #<
`, "services[1].sites[0].weight", "70000 is out of range"},
		{"two services with one name", exampleServices + `  - name: WWW.lb.example.com. #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[1].name", "www.lb.example.com. is also services[0]"},

		// YAML-level errors: a line, no field.
		{"unknown field", `services:
  - name: www.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
    colour: red #<
`, "services[0].colour", "field colour not found"},
		{"unknown nested field", `services:
  - name: www.lb.example.com
    sites:
      - name: fra
        vips: [192.0.2.1]
        location:
          lat: 1
          lon: 2
          city: Frankfurt #<
`, "services[0].sites[0].location.city", "field city not found"},
		{"unknown top-level field", `services:
  - name: www.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
zones: [] #<
`, "zones", "field zones not found"},
		{"syntax error", `services:
  - name: www.lb.example.com
    policy: geo: weighted #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "", "mapping values are not allowed"},
		{"bad character", `services:
  - name: www.lb.example.com
    policy: @geo #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "", "cannot start any token"},
		{"duplicate key", `services:
  - name: www.lb.example.com
    ttl: 20
    ttl: 30 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].ttl", `mapping key "ttl" already defined at line 3`},
		{"wrong type", `services:
  - name: www.lb.example.com
    ttl: soon #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].ttl", "cannot unmarshal"},
		{"negative ttl", `services:
  - name: www.lb.example.com
    ttl: -5 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].ttl", "cannot unmarshal"},

		// No services at all.
		{"empty file", "", "services", "no services in the file"},
		{"only comments", "# nothing yet\n\n", "services", "no services in the file"},
		{"services null", "services:\n", "services", "no services in the file"},
		{"services empty", "services: []\n", "services", "no services in the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := markedLine(t, tt.text)
			svcs, err := ParseServices("svc.yaml", tt.text)
			if err == nil {
				t.Fatalf("accepted: %s", dump(t, svcs))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error", err, err)
			}
			if e.Kind != KindInvalid || e.File != "svc.yaml" || e.Line != line || e.Field != tt.field {
				t.Errorf("got kind %q file %q line %d field %q (%v),\nwant kind %q file %q line %d field %q",
					e.Kind, e.File, e.Line, e.Field, err, KindInvalid, "svc.yaml", line, tt.field)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.msg)
			}
			if line > 0 && !strings.HasPrefix(err.Error(), "svc.yaml:") {
				t.Errorf("Error() = %q, want it to start with file:line", err)
			}
		})
	}
}

// TestValidateServiceFieldsAreRelative checks ValidateService on its own
// names fields relative to the service, as the admin API reports them.
func TestValidateServiceFieldsAreRelative(t *testing.T) {
	svc := minimalWant()
	svc.Sites[0].RealServers[0].Port = 70000
	wantErr(t, ValidateService(&svc), KindInvalid, "sites[0].real_servers[0].port")

	svc = minimalWant()
	if err := ValidateService(&svc); err != nil {
		t.Fatalf("a validated service must validate again: %v", err)
	}
	if !reflect.DeepEqual(svc, minimalWant()) {
		t.Errorf("ValidateService changed a normalised service: %s", dump(t, svc))
	}
}

func TestParseServicesRefusesSecondDocument(t *testing.T) {
	text := "services:\n  - name: a.lb.example.com\n    sites: [{name: x, vips: [192.0.2.1]}]\n---\nservices:\n  - name: b.lb.example.com\n    sites: [{name: x, vips: [192.0.2.2]}]\n"
	_, err := ParseServices("two.yaml", text)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindInvalid || !strings.Contains(e.Msg, "one YAML document") {
		t.Fatalf("second document: got %v, want an invalid-file error", err)
	}
}

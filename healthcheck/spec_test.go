package healthcheck

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lbdns/lbdns/zones"
)

const svcName = "www.lb.example.com." // as ValidateService canonicalises it

// defaultSpec is what an empty health block resolves to.
var defaultSpec = Spec{
	Kind: "tcp", Path: "/", Method: "GET", Expect: []int{200}, QueryType: "A",
	Interval: 5 * time.Second, Timeout: 2 * time.Second, Rise: 2, Fall: 3,
}

// specWith is defaultSpec changed by f.
func specWith(f func(*Spec)) Spec {
	s := defaultSpec
	s.Expect = []int{200}
	if f != nil {
		f(&s)
	}
	return s
}

var ap = netip.MustParseAddrPort

func TestTargets(t *testing.T) {
	rsAt := func(addr string, port int, h *zones.Health) zones.RealServer {
		return zones.RealServer{Address: addr, Port: port, Health: h}
	}
	rsTarget := func(site, server, probe string, weight int, spec Spec) Target {
		return Target{Service: svcName, Site: site, Server: ap(server), Probe: ap(probe), Weight: weight, Spec: spec}
	}
	tests := []struct {
		name  string
		svc   zones.Service
		admin map[string]string
		want  []Target
	}{
		{
			name: "empty health block gets every default",
			svc: zones.Service{Health: &zones.Health{}, Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"},
				RealServers: []zones.RealServer{{Address: "10.0.0.1", Port: 80, Weight: intp(7)}},
			}}},
			want: []Target{rsTarget("a", "10.0.0.1:80", "10.0.0.1:80", 7, defaultSpec)},
		},
		{
			name: "site overrides service and real server overrides site, field by field",
			svc: zones.Service{
				Health: &zones.Health{Kind: "http", Port: 8080, Path: "/health", Host: "svc.example", Interval: "2s", Rise: 3},
				Sites: []zones.Site{
					{
						Name: "a", VIPs: []string{"192.0.2.1"},
						Health: &zones.Health{Path: "/site", Timeout: "1s", Expect: []int{200, 204}},
						RealServers: []zones.RealServer{
							rsAt("10.0.0.1", 80, &zones.Health{Method: "HEAD", Fall: 5, Body: "ok", Jitter: "100ms"}),
							rsAt("10.0.0.2", 80, nil),
						},
					},
					{Name: "b", VIPs: []string{"192.0.2.2"}, RealServers: []zones.RealServer{rsAt("10.0.1.1", 80, nil)}},
				},
			},
			want: []Target{
				rsTarget("a", "10.0.0.1:80", "10.0.0.1:8080", 1, specWith(func(s *Spec) {
					s.Kind, s.Port, s.Path, s.Method, s.Host, s.Expect, s.Body = "http", 8080, "/site", "HEAD", "svc.example", []int{200, 204}, "ok"
					s.Interval, s.Timeout, s.Jitter, s.Rise, s.Fall = 2*time.Second, time.Second, 100*time.Millisecond, 3, 5
				})),
				rsTarget("a", "10.0.0.2:80", "10.0.0.2:8080", 1, specWith(func(s *Spec) {
					s.Kind, s.Port, s.Path, s.Host, s.Expect = "http", 8080, "/site", "svc.example", []int{200, 204}
					s.Interval, s.Timeout, s.Rise = 2*time.Second, time.Second, 3
				})),
				rsTarget("b", "10.0.1.1:80", "10.0.1.1:8080", 1, specWith(func(s *Spec) {
					s.Kind, s.Port, s.Path, s.Host = "http", 8080, "/health", "svc.example"
					s.Interval, s.Rise = 2*time.Second, 3
				})),
			},
		},
		{
			name: "probe_address and probe_port move the probe, not the server",
			svc: zones.Service{
				Health: &zones.Health{ProbeAddress: "127.0.0.9"},
				Sites: []zones.Site{{
					Name: "a", VIPs: []string{"192.0.2.1"},
					RealServers: []zones.RealServer{
						rsAt("10.0.0.1", 80, nil),
						rsAt("10.0.0.2", 80, &zones.Health{ProbePort: 9000}),
						rsAt("10.0.0.3", 80, &zones.Health{Port: 8080, ProbePort: 9001}),
						rsAt("10.0.0.4", 80, &zones.Health{Port: 8080}),
					},
				}},
			},
			want: []Target{
				rsTarget("a", "10.0.0.1:80", "127.0.0.9:80", 1, defaultSpec),
				rsTarget("a", "10.0.0.2:80", "127.0.0.9:9000", 1, defaultSpec),
				rsTarget("a", "10.0.0.3:80", "127.0.0.9:9001", 1, specWith(func(s *Spec) { s.Port = 8080 })),
				rsTarget("a", "10.0.0.4:80", "127.0.0.9:8080", 1, specWith(func(s *Spec) { s.Port = 8080 })),
			},
		},
		{
			name: "a real server without a port takes the director's",
			svc: zones.Service{
				Health: &zones.Health{},
				Sites: []zones.Site{{
					Name: "a", VIPs: []string{"192.0.2.1"}, Director: &zones.Director{Mode: "nat", Port: 443},
					RealServers: []zones.RealServer{rsAt("10.0.0.1", 0, nil), rsAt("10.0.0.2", 8443, nil)},
				}},
			},
			want: []Target{
				rsTarget("a", "10.0.0.1:443", "10.0.0.1:443", 1, defaultSpec),
				rsTarget("a", "10.0.0.2:8443", "10.0.0.2:8443", 1, defaultSpec),
			},
		},
		{
			name: "disabled sites are not probed, drained ones are",
			svc: zones.Service{
				Health: &zones.Health{},
				Sites: []zones.Site{
					{Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)}},
					{Name: "b", VIPs: []string{"192.0.2.2"}, RealServers: []zones.RealServer{rsAt("10.0.1.1", 80, nil)}},
				},
			},
			admin: map[string]string{"a": zones.SiteDisabled, "b": zones.SiteDrained},
			want:  []Target{rsTarget("b", "10.0.1.1:80", "10.0.1.1:80", 1, defaultSpec)},
		},
		{
			name: "a service without health has no targets",
			svc: zones.Service{Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)},
			}}},
			want: nil,
		},
		{
			name: "a site's own health block probes only that site",
			svc: zones.Service{Sites: []zones.Site{
				{Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)}},
				{
					Name: "b", VIPs: []string{"192.0.2.2"}, Health: &zones.Health{Kind: "http"},
					RealServers: []zones.RealServer{rsAt("10.0.1.1", 80, nil)},
				},
			}},
			want: []Target{rsTarget("b", "10.0.1.1:80", "10.0.1.1:80", 1, specWith(func(s *Spec) { s.Kind = "http" }))},
		},
		{
			name: "vip_check probes every VIP on the director port, merged over the site's health",
			svc: zones.Service{
				Health: &zones.Health{Interval: "1s"},
				Sites: []zones.Site{{
					Name: "a", VIPs: []string{"192.0.2.1", "2001:db8::1"}, Director: &zones.Director{Mode: "dr", Port: 80},
					VIPCheck:    &zones.Health{Kind: "http", Path: "/vip"},
					RealServers: []zones.RealServer{rsAt("10.0.0.1", 0, nil)},
				}},
			},
			want: []Target{
				rsTarget("a", "10.0.0.1:80", "10.0.0.1:80", 1, specWith(func(s *Spec) { s.Interval = time.Second })),
				{Service: svcName, Site: "a", Server: ap("192.0.2.1:80"), Probe: ap("192.0.2.1:80"), VIP: true,
					Spec: specWith(func(s *Spec) { s.Kind, s.Path, s.Interval = "http", "/vip", time.Second })},
				{Service: svcName, Site: "a", Server: ap("[2001:db8::1]:80"), Probe: ap("[2001:db8::1]:80"), VIP: true,
					Spec: specWith(func(s *Spec) { s.Kind, s.Path, s.Interval = "http", "/vip", time.Second })},
			},
		},
		{
			name: "vip_check alone, without real-server health",
			svc: zones.Service{Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"},
				VIPCheck:    &zones.Health{Port: 443, Kind: "https"},
				RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)},
			}}},
			want: []Target{{Service: svcName, Site: "a", Server: ap("192.0.2.1:0"), Probe: ap("192.0.2.1:443"), VIP: true,
				Spec: specWith(func(s *Spec) { s.Kind, s.Port = "https", 443 })}},
		},
		{
			name: "initial: up marks targets up before their first probes",
			svc: zones.Service{Initial: "up", Health: &zones.Health{}, Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)},
			}}},
			want: []Target{{Service: svcName, Site: "a", Server: ap("10.0.0.1:80"), Probe: ap("10.0.0.1:80"), Weight: 1, Initial: true, Spec: defaultSpec}},
		},
		{
			name: "exec needs no port and gets its command",
			svc: zones.Service{Health: &zones.Health{Kind: "exec", Command: []string{"/bin/true"}}, Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 0, nil)},
			}}},
			want: []Target{rsTarget("a", "10.0.0.1:0", "10.0.0.1:0", 1, specWith(func(s *Spec) { s.Kind, s.Command = "exec", []string{"/bin/true"} }))},
		},
		{
			name: "zero durations fall back to the defaults",
			svc: zones.Service{Health: &zones.Health{Interval: "0s", Timeout: "0s"}, Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"}, RealServers: []zones.RealServer{rsAt("10.0.0.1", 80, nil)},
			}}},
			want: []Target{rsTarget("a", "10.0.0.1:80", "10.0.0.1:80", 1, defaultSpec)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.svc.Name = "WWW.lb.example.com"
			got, err := Targets(stored(t, tc.svc, tc.admin))
			if err != nil {
				t.Fatalf("Targets: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Targets:\n got  %+v\n want %+v", got, tc.want)
			}
			keys := map[string]bool{}
			for _, tg := range got {
				if keys[tg.Key()] {
					t.Errorf("duplicate key %s", tg.Key())
				}
				keys[tg.Key()] = true
			}
		})
	}
}

func TestTargetsErrors(t *testing.T) {
	tests := []struct {
		name string
		h    *zones.Health
		port int
		want string
	}{
		{"no port anywhere", &zones.Health{}, 0, "no port to probe"},
		{"exec without a command", &zones.Health{Kind: "exec"}, 80, "needs a command"},
		{"dns without a query", &zones.Health{Kind: "dns"}, 53, "needs a query name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := zones.Service{Name: "x.lb.example.com.", Health: tc.h, Sites: []zones.Site{{
				Name: "a", VIPs: []string{"192.0.2.1"},
				RealServers: []zones.RealServer{{Address: "10.0.0.1", Port: tc.port}},
			}}}
			// The store refuses such a service; the checker must too, should
			// one reach it.
			if err := zones.ValidateService(&zones.Service{Name: svc.Name, Health: tc.h, Sites: svc.Sites}); err == nil {
				t.Errorf("ValidateService accepted it")
			}
			ss := zones.StoredService{Service: svc}
			_, err := Targets(ss)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Targets error = %v, want one containing %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "x.lb.example.com.") || !strings.Contains(err.Error(), "site a") {
				t.Errorf("error %q does not name the service and site", err)
			}
			// Apply refuses the whole set and keeps what runs.
			c := newTestChecker(t, 0)
			if err := c.Apply([]zones.StoredService{ss}); err == nil {
				t.Errorf("Apply accepted a service whose targets do not resolve")
			}
		})
	}
}

// TestSpecEqual changes every field of Spec in turn: a change of any of
// them must restart the target, so equal must see it.
func TestSpecEqual(t *testing.T) {
	base := specWith(func(s *Spec) { s.Command = []string{"/bin/true"} })
	if !base.equal(specWith(func(s *Spec) { s.Command = []string{"/bin/true"} })) {
		t.Fatal("equal specs compare unequal")
	}
	v := reflect.ValueOf(&base).Elem()
	for i := range v.NumField() {
		other := base
		other.Expect = []int{200}
		other.Command = []string{"/bin/true"}
		f := reflect.ValueOf(&other).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.Int {
				f.Set(reflect.ValueOf([]int{200, 204}))
			} else {
				f.Set(reflect.ValueOf([]string{"/bin/false"}))
			}
		default:
			t.Fatalf("field %s: unhandled kind %s", v.Type().Field(i).Name, f.Kind())
		}
		if base.equal(other) {
			t.Errorf("changing Spec.%s leaves the spec equal: a change to it would not restart the probe", v.Type().Field(i).Name)
		}
	}
}

func TestMergeDoesNotAlias(t *testing.T) {
	svc := &zones.Health{Kind: "http", Path: "/a"}
	site := &zones.Health{Path: "/b"}
	m := merge(svc, site)
	if m.Path != "/b" || m.Kind != "http" {
		t.Fatalf("merge = %+v", m)
	}
	if svc.Path != "/a" {
		t.Errorf("merge changed its base: %+v", svc)
	}
	if merge(nil, site) != site || merge(svc, nil) != svc || merge(nil, nil) != nil {
		t.Errorf("merge with a nil side should return the other")
	}
}

// TestVIPCheckProbesTheDirectorPort: a VIP check inherits the kind and
// timing of the service's health block, but not its real-server port or
// probe address.
func TestVIPCheckProbesTheDirectorPort(t *testing.T) {
	ss := zones.StoredService{Service: zones.Service{
		Name:   "www.lb.example.com.",
		Health: &zones.Health{Kind: "http", Port: 8080, Path: "/healthz", ProbeAddress: "10.9.9.9"},
		Sites: []zones.Site{{
			Name: "fra", VIPs: []string{"203.0.113.10"},
			Director: &zones.Director{Mode: "nat", Port: 80, Protocol: "tcp", Scheduler: "wlc"},
			VIPCheck: &zones.Health{Path: "/vip"},
		}},
	}}
	ts, err := Targets(ss)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || !ts[0].VIP {
		t.Fatalf("targets %+v, want one VIP check", ts)
	}
	if got := ts[0].Probe.String(); got != "203.0.113.10:80" {
		t.Errorf("VIP check probes %s, want 203.0.113.10:80", got)
	}
	if ts[0].Spec.Kind != "http" || ts[0].Spec.Path != "/vip" {
		t.Errorf("VIP check spec %+v, want http to /vip", ts[0].Spec)
	}
}

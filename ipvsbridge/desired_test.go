package ipvsbridge

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/lbdns/lbdns/healthcheck"
	"github.com/lbdns/lbdns/zones"
)

func intp(n int) *int { return &n }

// desiredFixture: www has a NAT site fra (v4 and v6 VIPs, reals of both
// families), a DR site iad, a site ams without a director; dns has a UDP
// site fra.
func desiredFixture(admin map[string]string) []zones.StoredService {
	www := zones.StoredService{Zone: "lb.example.com.", Admin: admin, Service: zones.Service{
		Name: "www.lb.example.com.",
		Sites: []zones.Site{
			{Name: "fra", VIPs: []string{"192.0.2.10", "2001:db8::10"},
				Director: &zones.Director{Mode: "nat", Scheduler: "wlc", Port: 80, Protocol: "tcp"},
				RealServers: []zones.RealServer{
					{Address: "10.0.0.1", Port: 8080, Weight: intp(5)},
					{Address: "10.0.0.2"}, // port and weight default
					{Address: "2001:db8:1::1", Weight: intp(3)},
				}},
			{Name: "iad", VIPs: []string{"198.51.100.10"},
				Director: &zones.Director{Mode: "dr", Scheduler: "sh", Port: 443, Protocol: "tcp", Persistence: 300},
				RealServers: []zones.RealServer{
					{Address: "10.1.0.1", Weight: intp(70000)}, // clamped to what the kernel holds
					{Address: "10.1.0.2", Port: 8443, Weight: intp(0)},
				}},
			{Name: "ams", VIPs: []string{"203.0.113.10"}, RealServers: []zones.RealServer{{Address: "10.2.0.1"}}},
		},
	}}
	dns := zones.StoredService{Zone: "lb.example.com.", Service: zones.Service{
		Name: "dns.lb.example.com.",
		Sites: []zones.Site{
			{Name: "fra", VIPs: []string{"192.0.2.53", "not-an-ip"},
				Director:    &zones.Director{Mode: "tun", Scheduler: "rr", Port: 53, Protocol: "udp", Persistence: 10},
				RealServers: []zones.RealServer{{Address: "10.0.0.53", Port: 5353}}},
		},
	}}
	return []zones.StoredService{www, dns}
}

func TestDesired(t *testing.T) {
	fraV4 := VirtualService{Addr: addr(t, "192.0.2.10"), Port: 80, Protocol: "tcp", Scheduler: "wlc"}
	fraV6 := VirtualService{Addr: addr(t, "2001:db8::10"), Port: 80, Protocol: "tcp", Scheduler: "wlc"}
	iad := VirtualService{Addr: addr(t, "198.51.100.10"), Port: 443, Protocol: "tcp", Scheduler: "sh", Persistence: 300}
	dnsFra := VirtualService{Addr: addr(t, "192.0.2.53"), Port: 53, Protocol: "udp", Scheduler: "rr", Persistence: 10}
	fra := func(w1, w2, w6 int) []Service {
		return []Service{
			svc(fraV4, dest(t, "10.0.0.1", 8080, w1, "nat"), dest(t, "10.0.0.2", 80, w2, "nat")),
			svc(fraV6, dest(t, "2001:db8:1::1", 80, w6, "nat")),
		}
	}
	dnsSvc := svc(dnsFra, dest(t, "10.0.0.53", 5353, 1, "tun"))
	health := func(service, site string) []healthcheck.ServerWeight {
		if service != "www.lb.example.com." || site != "fra" {
			return nil
		}
		return []healthcheck.ServerWeight{
			{Server: netip.MustParseAddrPort("10.0.0.1:8080"), Weight: 0, Settled: true},              // unhealthy
			{Server: netip.MustParseAddrPort("10.0.0.2:80"), Weight: 9, Healthy: true, Settled: true}, // healthy
			// 2001:db8:1::1 unknown to health: 0
		}
	}

	cases := []struct {
		name    string
		admin   map[string]string
		local   []string
		weights WeightsFunc
		want    []Service
	}{
		{"configured weights", nil, []string{"fra"}, nil, append(fra(5, 1, 3), dnsSvc)},
		{"health weights", nil, []string{"fra"}, health, append(fra(0, 9, 0), svc(dnsFra, dest(t, "10.0.0.53", 5353, 0, "tun")))},
		{"site drained", map[string]string{"fra": zones.SiteDrained}, []string{"fra"}, nil, append(fra(0, 0, 0), dnsSvc)},
		{"site disabled", map[string]string{"fra": zones.SiteDisabled}, []string{"fra"}, nil, append(fra(0, 0, 0), dnsSvc)},
		{"other site drained", map[string]string{"iad": zones.SiteDrained}, []string{"fra"}, nil, append(fra(5, 1, 3), dnsSvc)},
		{"dr site, persistence, weight clamped", nil, []string{"iad"}, nil, []Service{
			svc(iad, dest(t, "10.1.0.1", 443, MaxWeight, "dr"), dest(t, "10.1.0.2", 8443, 0, "dr")),
		}},
		{"site without a director", nil, []string{"ams"}, nil, nil},
		{"no local sites", nil, nil, nil, nil},
		{"unknown site", nil, []string{"lhr"}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Desired(desiredFixture(tc.admin), tc.local, tc.weights)
			want := slices.Clone(tc.want)
			sortServices(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Desired =\n%+v\nwant\n%+v", got, want)
			}
			for _, s := range got {
				if err := s.Validate(); err != nil {
					t.Errorf("Desired built an invalid service: %v", err)
				}
			}
		})
	}
}

// TestDesiredFamilies: reals of the other family than the VIP are left
// out, for every mode; an IPv4-mapped VIP is an IPv4 service.
func TestDesiredFamilies(t *testing.T) {
	for _, mode := range []string{"nat", "dr", "tun"} {
		t.Run(mode, func(t *testing.T) {
			ss := []zones.StoredService{{Service: zones.Service{Name: "x.", Sites: []zones.Site{{
				Name: "fra", VIPs: []string{"::ffff:192.0.2.1", "2001:db8::1"},
				Director: &zones.Director{Mode: mode, Scheduler: "rr", Port: 80, Protocol: "tcp"},
				RealServers: []zones.RealServer{
					{Address: "10.0.0.1"}, {Address: "2001:db8:1::1"},
				},
			}}}}}
			got := Desired(ss, []string{"fra"}, nil)
			want := []Service{
				svc(VirtualService{Addr: addr(t, "192.0.2.1"), Port: 80, Protocol: "tcp", Scheduler: "rr"}, dest(t, "10.0.0.1", 80, 1, mode)),
				svc(VirtualService{Addr: addr(t, "2001:db8::1"), Port: 80, Protocol: "tcp", Scheduler: "rr"}, dest(t, "2001:db8:1::1", 80, 1, mode)),
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Desired =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestDesiredKeysMatchVirtualServiceFor: the keys DNS asks Programmed
// about are those Desired builds.
func TestDesiredKeysMatchVirtualServiceFor(t *testing.T) {
	ss := desiredFixture(nil)
	got := map[string]bool{}
	for _, s := range Desired(ss, []string{"fra", "iad"}, nil) {
		got[s.Key()] = true
	}
	n := 0
	for _, s := range ss {
		for _, site := range s.Sites {
			if site.Director == nil {
				continue
			}
			for _, v := range site.VIPs {
				a, err := netip.ParseAddr(v)
				if err != nil {
					continue
				}
				n++
				if k := VirtualServiceFor(site.Director, a).Key(); !got[k] {
					t.Errorf("VirtualServiceFor gives %s, not built by Desired %v", k, got)
				}
			}
		}
	}
	if n != len(got) {
		t.Errorf("Desired built %d services, want %d", len(got), n)
	}
}

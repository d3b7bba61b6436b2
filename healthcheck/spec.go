// Package healthcheck probes the real servers (and optionally the VIPs) of
// every load-balanced service, applies rise/fall hysteresis, and turns the
// results into site states for DNS and real-server weights for IPVS. It
// reports state; it does not decide answers.
package healthcheck

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// Probe defaults, for fields a health block leaves out.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
)

// Spec is a resolved probe: every field set, overrides applied.
type Spec struct {
	Kind      string
	Port      int
	Path      string
	Method    string
	Host      string
	Expect    []int
	Body      string
	Insecure  bool
	Query     string
	QueryType string
	Command   []string
	Interval  time.Duration
	Timeout   time.Duration
	Jitter    time.Duration
	Rise      int
	Fall      int
}

// Target is one thing to probe: a real server of a site (or the site's VIP
// for vip_check), and where the probe goes.
type Target struct {
	Service string
	Site    string
	Server  netip.AddrPort // the real server as IPVS knows it; the VIP for vip_check
	Probe   netip.AddrPort // where the probe connects (probe_address/probe_port)
	Weight  int            // configured IPVS weight
	VIP     bool           // a vip_check target
	Initial bool           // up before the first probes settle
	Spec    Spec
}

// Key identifies a target across re-applies: same key and spec keeps state.
func (t Target) Key() string {
	kind := "rs"
	if t.VIP {
		kind = "vip"
	}
	return t.Service + "|" + t.Site + "|" + kind + "|" + t.Server.String()
}

// Targets lists what a service's health blocks ask to probe. A service
// without a health block has none: its sites are up unless drained.
// Disabled sites are not probed.
func Targets(ss zones.StoredService) ([]Target, error) {
	var out []Target
	for _, site := range ss.Sites {
		if ss.Admin[site.Name] == zones.SiteDisabled {
			continue
		}
		ts, err := siteTargets(ss, site)
		if err != nil {
			return nil, fmt.Errorf("service %s site %s: %w", ss.Name, site.Name, err)
		}
		out = append(out, ts...)
	}
	return out, nil
}

func siteTargets(ss zones.StoredService, site zones.Site) ([]Target, error) {
	var out []Target
	base := merge(ss.Health, site.Health)
	if base != nil {
		for _, rs := range site.RealServers {
			h := merge(base, rs.Health)
			t, err := newTarget(ss, site, rs.Address, rs.Port, weightOf(rs.Weight, 1), h)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	if site.VIPCheck != nil {
		// A VIP check probes the VIP at the director's port: it inherits
		// how to probe, not where the real servers are.
		var how *zones.Health
		if base != nil {
			h := *base
			h.Port, h.ProbeAddress, h.ProbePort = 0, "", 0
			how = &h
		}
		for _, v := range site.VIPs {
			t, err := newTarget(ss, site, v, 0, 0, merge(how, site.VIPCheck))
			if err != nil {
				return nil, err
			}
			t.VIP = true
			out = append(out, t)
		}
	}
	return out, nil
}

func newTarget(ss zones.StoredService, site zones.Site, addr string, port, weight int, h *zones.Health) (Target, error) {
	spec, err := resolve(h)
	if err != nil {
		return Target{}, err
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return Target{}, err
	}
	if port == 0 && site.Director != nil {
		port = site.Director.Port
	}
	t := Target{
		Service: ss.Name, Site: site.Name, Weight: weight, Initial: ss.Initial == "up", Spec: spec,
		Server: netip.AddrPortFrom(a, uint16(port)),
	}
	probeAddr, probePort := a, port
	if spec.Port != 0 {
		probePort = spec.Port
	}
	if h.ProbeAddress != "" {
		if probeAddr, err = netip.ParseAddr(h.ProbeAddress); err != nil {
			return Target{}, err
		}
	}
	if h.ProbePort != 0 {
		probePort = h.ProbePort
	}
	if probePort == 0 && spec.Kind != "exec" {
		return Target{}, fmt.Errorf("%s: no port to probe (set health.port or the real server's port)", addr)
	}
	t.Probe = netip.AddrPortFrom(probeAddr, uint16(probePort))
	return t, nil
}

// merge overlays o's set fields on base; either may be nil.
func merge(base, o *zones.Health) *zones.Health {
	if base == nil {
		return o
	}
	if o == nil {
		return base
	}
	m := *base
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&m.Kind, o.Kind)
	set(&m.Path, o.Path)
	set(&m.Method, o.Method)
	set(&m.Host, o.Host)
	set(&m.Body, o.Body)
	set(&m.Query, o.Query)
	set(&m.QueryType, o.QueryType)
	set(&m.Interval, o.Interval)
	set(&m.Timeout, o.Timeout)
	set(&m.Jitter, o.Jitter)
	set(&m.ProbeAddress, o.ProbeAddress)
	for _, p := range []struct{ dst, v *int }{{&m.Port, &o.Port}, {&m.Rise, &o.Rise}, {&m.Fall, &o.Fall}, {&m.ProbePort, &o.ProbePort}} {
		if *p.v != 0 {
			*p.dst = *p.v
		}
	}
	if len(o.Expect) > 0 {
		m.Expect = o.Expect
	}
	if len(o.Command) > 0 {
		m.Command = o.Command
	}
	m.Insecure = m.Insecure || o.Insecure
	return &m
}

// resolve fills defaults and parses durations.
func resolve(h *zones.Health) (Spec, error) {
	s := Spec{
		Kind: h.Kind, Port: h.Port, Path: h.Path, Method: h.Method, Host: h.Host, Expect: h.Expect,
		Body: h.Body, Insecure: h.Insecure, Query: h.Query, QueryType: h.QueryType, Command: h.Command,
		Rise: h.Rise, Fall: h.Fall, Interval: DefaultInterval, Timeout: DefaultTimeout,
	}
	if s.Kind == "" {
		s.Kind = "tcp"
	}
	for _, d := range []struct {
		dst *time.Duration
		v   string
	}{{&s.Interval, h.Interval}, {&s.Timeout, h.Timeout}, {&s.Jitter, h.Jitter}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil {
			return s, err
		}
		*d.dst = v
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout <= 0 { // a zero timeout would fail every probe before it starts
		s.Timeout = DefaultTimeout
	}
	if s.Rise == 0 {
		s.Rise = DefaultRise
	}
	if s.Fall == 0 {
		s.Fall = DefaultFall
	}
	if s.Path == "" {
		s.Path = "/"
	}
	if s.Method == "" {
		s.Method = "GET"
	}
	if len(s.Expect) == 0 {
		s.Expect = []int{200}
	}
	if s.QueryType == "" {
		s.QueryType = "A"
	}
	if s.Kind == "exec" && len(s.Command) == 0 {
		return s, fmt.Errorf("exec health check needs a command")
	}
	if s.Kind == "dns" && s.Query == "" {
		return s, fmt.Errorf("dns health check needs a query name")
	}
	return s, nil
}

// equal reports whether two specs probe the same way.
func (s Spec) equal(o Spec) bool {
	return s.Kind == o.Kind && s.Port == o.Port && s.Path == o.Path && s.Method == o.Method &&
		s.Host == o.Host && slices.Equal(s.Expect, o.Expect) && s.Body == o.Body && s.Insecure == o.Insecure &&
		s.Query == o.Query && s.QueryType == o.QueryType && slices.Equal(s.Command, o.Command) &&
		s.Interval == o.Interval && s.Timeout == o.Timeout && s.Jitter == o.Jitter && s.Rise == o.Rise && s.Fall == o.Fall
}

func weightOf(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// String describes the spec for logs and status.
func (s Spec) String() string {
	return s.Kind + " every " + s.Interval.String() + " timeout " + s.Timeout.String() +
		" rise " + strconv.Itoa(s.Rise) + " fall " + strconv.Itoa(s.Fall)
}

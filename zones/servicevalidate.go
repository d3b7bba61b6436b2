package zones

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Service defaults, applied by ValidateService.
const (
	DefaultServiceTTL = 30
	MaxServiceTTL     = 3600
	DefaultSiteWeight = 100
	maxAnswers        = 64
)

var (
	siteName     = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)
	countryCode  = regexp.MustCompile(`^[A-Z]{2}$`)
	continents   = []string{"AF", "AN", "AS", "EU", "NA", "OC", "SA"}
	policies     = []string{PolicyGeo, PolicyWeighted, PolicyFailover, PolicyAll, PolicyHash}
	fallbacks    = []string{FallbackAll, FallbackNone, FallbackSorry}
	modes        = []string{"nat", "dr", "tun"}
	schedulers   = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"}
	protocols    = []string{"tcp", "udp", "sctp"}
	healthKinds  = []string{"tcp", "http", "https", "dns", "exec"}
	initialState = []string{"down", "up"}
)

// ValidateService checks a service and fills in its defaults. Errors name
// the field relative to the service ("sites[1].vips[0]").
func ValidateService(s *Service) error {
	name, err := canonName("name", s.Name)
	if err != nil {
		return err
	}
	s.Name = name
	if strings.HasPrefix(name, "*.") || strings.Contains(name, ".*.") {
		return Invalid("name", "%s: a load-balanced name cannot be a wildcard", name)
	}
	if s.TTL == 0 {
		s.TTL = DefaultServiceTTL
	}
	if s.TTL > MaxServiceTTL {
		return Invalid("ttl", "%d is out of range 1..%d", s.TTL, MaxServiceTTL)
	}
	if err := oneOf("policy", &s.Policy, PolicyGeo, policies); err != nil {
		return err
	}
	if s.Answers == 0 {
		s.Answers = 1
	}
	if s.Answers < 1 || s.Answers > maxAnswers {
		return Invalid("answers", "%d is out of range 1..%d", s.Answers, maxAnswers)
	}
	if err := oneOf("fallback", &s.Fallback, FallbackAll, fallbacks); err != nil {
		return err
	}
	if err := checkAddrs("sorry", s.Sorry); err != nil {
		return err
	}
	if s.Fallback == FallbackSorry && len(s.Sorry) == 0 {
		return Invalid("sorry", "fallback: sorry needs at least one address")
	}
	if err := oneOf("initial", &s.Initial, "down", initialState); err != nil {
		return err
	}
	if err := checkHealth("health", s.Health); err != nil {
		return err
	}
	if err := checkSites(s.Sites); err != nil {
		return err
	}
	return checkProbeable(s)
}

// checkProbeable refuses health checks that could not run: an exec check
// without a command, a dns check without a query, or a probe with no port
// from any of the health blocks, the real server or the director.
func checkProbeable(s *Service) error {
	for i, st := range s.Sites {
		for j, rs := range st.RealServers {
			blocks := []*Health{s.Health, st.Health, rs.Health}
			if s.Health == nil && st.Health == nil && rs.Health == nil {
				continue
			}
			f := fmt.Sprintf("sites[%d].real_servers[%d]", i, j)
			kind := lastSet(blocks, func(h *Health) string { return h.Kind })
			port := rs.Port
			if st.Director != nil && port == 0 {
				port = st.Director.Port
			}
			for _, h := range blocks {
				if h != nil && h.ProbePort != 0 {
					port = h.ProbePort
				} else if h != nil && h.Port != 0 {
					port = h.Port
				}
			}
			switch {
			case kind == "exec" && lastSet(blocks, func(h *Health) string { return strings.Join(h.Command, " ") }) == "":
				return Invalid(f, "an exec health check needs a command")
			case kind == "dns" && lastSet(blocks, func(h *Health) string { return h.Query }) == "":
				return Invalid(f, "a dns health check needs a query name")
			case kind != "exec" && port == 0:
				return Invalid(f, "nothing says which port to probe: set health.port, the real server's port or the director's")
			}
		}
	}
	return nil
}

// lastSet returns the last non-empty value of field among the blocks, the
// way overrides apply.
func lastSet(blocks []*Health, field func(*Health) string) string {
	v := ""
	for _, h := range blocks {
		if h != nil && field(h) != "" {
			v = field(h)
		}
	}
	return v
}

func checkSites(sites []Site) error {
	if len(sites) == 0 {
		return Invalid("sites", "a service needs at least one site")
	}
	names := map[string]bool{}
	clients := map[netip.Prefix]string{}
	for i := range sites {
		st := &sites[i]
		f := fmt.Sprintf("sites[%d]", i)
		if !siteName.MatchString(st.Name) {
			return Invalid(f+".name", "%q is not a site name (lower-case letters, digits, - and _)", st.Name)
		}
		if names[st.Name] {
			return Invalid(f+".name", "site %s is listed twice", st.Name)
		}
		names[st.Name] = true
		if err := checkSite(f, st, clients); err != nil {
			return err
		}
	}
	return nil
}

func checkSite(f string, st *Site, clients map[netip.Prefix]string) error {
	if len(st.VIPs) == 0 {
		return Invalid(f+".vips", "a site needs at least one VIP")
	}
	if err := checkAddrs(f+".vips", st.VIPs); err != nil {
		return err
	}
	if err := checkLocation(f+".location", st.Location); err != nil {
		return err
	}
	for j, c := range st.Clients {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return Invalid(fmt.Sprintf("%s.clients[%d]", f, j), "%q is not a CIDR prefix", c)
		}
		if p != p.Masked() {
			return Invalid(fmt.Sprintf("%s.clients[%d]", f, j), "%s has host bits set (did you mean %s?)", p, p.Masked())
		}
		if p.Addr().Is4In6() {
			return Invalid(fmt.Sprintf("%s.clients[%d]", f, j), "%s is IPv4-mapped; write IPv4 networks as IPv4", p)
		}
		if other, dup := clients[p]; dup {
			return Invalid(fmt.Sprintf("%s.clients[%d]", f, j), "%s is also mapped to site %s", p, other)
		}
		clients[p] = st.Name
	}
	if err := defaultInt(f+".weight", &st.Weight, DefaultSiteWeight, 0, 65535); err != nil {
		return err
	}
	if st.Priority < 0 {
		return Invalid(f+".priority", "%d is negative", st.Priority)
	}
	if err := defaultInt(f+".min_healthy", &st.MinHealthy, 1, 0, 1<<16); err != nil {
		return err
	}
	if len(st.RealServers) > 0 && *st.MinHealthy > len(st.RealServers) {
		return Invalid(f+".min_healthy", "%d exceeds the %d real servers", *st.MinHealthy, len(st.RealServers))
	}
	if err := checkDirector(f+".director", st.Director); err != nil {
		return err
	}
	for j := range st.RealServers {
		if err := checkRealServer(fmt.Sprintf("%s.real_servers[%d]", f, j), &st.RealServers[j]); err != nil {
			return err
		}
	}
	if err := checkHealth(f+".health", st.Health); err != nil {
		return err
	}
	return checkHealth(f+".vip_check", st.VIPCheck)
}

func checkLocation(f string, l *SiteLoc) error {
	if l == nil {
		return nil
	}
	if (l.Lat == nil) != (l.Lon == nil) {
		return Invalid(f, "lat and lon go together")
	}
	if l.Lat != nil && (*l.Lat < -90 || *l.Lat > 90) {
		return Invalid(f+".lat", "%g is out of range -90..90", *l.Lat)
	}
	if l.Lon != nil && (*l.Lon < -180 || *l.Lon > 180) {
		return Invalid(f+".lon", "%g is out of range -180..180", *l.Lon)
	}
	if l.Country != "" && !countryCode.MatchString(l.Country) {
		return Invalid(f+".country", "%q is not an ISO 3166 alpha-2 code such as DE", l.Country)
	}
	if l.Continent != "" && !slices.Contains(continents, l.Continent) {
		return Invalid(f+".continent", "%q is not one of %v", l.Continent, continents)
	}
	return nil
}

func checkDirector(f string, d *Director) error {
	if d == nil {
		return nil
	}
	if !slices.Contains(modes, d.Mode) {
		return Invalid(f+".mode", "%q is not one of %v", d.Mode, modes)
	}
	if err := oneOf(f+".scheduler", &d.Scheduler, "wlc", schedulers); err != nil {
		return err
	}
	if err := oneOf(f+".protocol", &d.Protocol, "tcp", protocols); err != nil {
		return err
	}
	if d.Port < 1 || d.Port > 65535 {
		return Invalid(f+".port", "%d is out of range 1..65535", d.Port)
	}
	if d.Persistence < 0 {
		return Invalid(f+".persistence", "%d is negative", d.Persistence)
	}
	return nil
}

func checkRealServer(f string, r *RealServer) error {
	a, err := netip.ParseAddr(r.Address)
	if err != nil {
		return Invalid(f+".address", "%q is not an IP address", r.Address)
	}
	r.Address = a.String()
	if r.Port < 0 || r.Port > 65535 {
		return Invalid(f+".port", "%d is out of range 0..65535", r.Port)
	}
	if err := defaultInt(f+".weight", &r.Weight, 1, 0, 65535); err != nil {
		return err
	}
	return checkHealth(f+".health", r.Health)
}

func checkHealth(f string, h *Health) error {
	if h == nil {
		return nil
	}
	if h.Kind != "" && !slices.Contains(healthKinds, h.Kind) {
		return Invalid(f+".kind", "%q is not one of %v", h.Kind, healthKinds)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"port", h.Port}, {"probe_port", h.ProbePort}} {
		if p.v < 0 || p.v > 65535 {
			return Invalid(f+"."+p.name, "%d is out of range 0..65535", p.v)
		}
	}
	for _, d := range []struct{ name, v string }{{"interval", h.Interval}, {"timeout", h.Timeout}, {"jitter", h.Jitter}} {
		if d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(d.v); err != nil || v < 0 {
			return Invalid(f+"."+d.name, "%q is not a duration such as 2s", d.v)
		}
	}
	if h.Rise < 0 || h.Fall < 0 {
		return Invalid(f, "rise and fall are counts of at least 1")
	}
	for i, c := range h.Expect {
		if c < 100 || c > 599 {
			return Invalid(fmt.Sprintf("%s.expect[%d]", f, i), "%d is not an HTTP status", c)
		}
	}
	if h.ProbeAddress != "" {
		if _, err := netip.ParseAddr(h.ProbeAddress); err != nil {
			return Invalid(f+".probe_address", "%q is not an IP address", h.ProbeAddress)
		}
	}
	if h.QueryType != "" {
		if _, ok := dns.StringToType[h.QueryType]; !ok {
			return Invalid(f+".query_type", "%q is not a DNS type", h.QueryType)
		}
	}
	return nil
}

// checkAddrs parses and normalises a list of IP addresses.
func checkAddrs(f string, addrs []string) error {
	seen := map[netip.Addr]bool{}
	for i, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return Invalid(fmt.Sprintf("%s[%d]", f, i), "%q is not an IP address", s)
		}
		a = a.Unmap()
		if !a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() {
			return Invalid(fmt.Sprintf("%s[%d]", f, i), "%s is not a unicast address", a)
		}
		if seen[a] {
			return Invalid(fmt.Sprintf("%s[%d]", f, i), "%s is listed twice", a)
		}
		seen[a] = true
		addrs[i] = a.String()
	}
	return nil
}

// oneOf defaults *v to def when empty and checks it is in allowed.
func oneOf(f string, v *string, def string, allowed []string) error {
	if *v == "" {
		*v = def
	}
	if !slices.Contains(allowed, *v) {
		return Invalid(f, "%q is not one of %v", *v, allowed)
	}
	return nil
}

// defaultInt defaults *p to def when absent and checks its range.
func defaultInt(f string, p **int, def, lo, hi int) error {
	if *p == nil {
		v := def
		*p = &v
	}
	if **p < lo || **p > hi {
		return Invalid(f, "%d is out of range %d..%d", **p, lo, hi)
	}
	return nil
}

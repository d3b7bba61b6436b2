package zones

import "context"

// Service is a load-balanced name: its A/AAAA answers are chosen per client
// from the VIPs of the sites that are up. It is written by operators in
// YAML (`lbdns service apply -f`), so fields hold what they typed;
// ValidateService checks and normalises them.
type Service struct {
	Name     string   `yaml:"name" json:"name"`
	TTL      uint32   `yaml:"ttl,omitempty" json:"ttl,omitempty"`
	Policy   string   `yaml:"policy,omitempty" json:"policy,omitempty"`
	Answers  int      `yaml:"answers,omitempty" json:"answers,omitempty"`
	Fallback string   `yaml:"fallback,omitempty" json:"fallback,omitempty"`
	Sorry    []string `yaml:"sorry,omitempty" json:"sorry,omitempty"`
	// Initial is the state of a real server before its first probes
	// settle: "down" (the default) or "up".
	Initial string  `yaml:"initial,omitempty" json:"initial,omitempty"`
	Health  *Health `yaml:"health,omitempty" json:"health,omitempty"`
	Sites   []Site  `yaml:"sites" json:"sites"`
}

// Policies name how a service orders its up sites for a client.
const (
	PolicyGeo      = "geo"
	PolicyWeighted = "weighted"
	PolicyFailover = "failover"
	PolicyAll      = "all"
	PolicyHash     = "hash"
)

// Fallbacks name what a service answers when no site is up.
const (
	FallbackAll   = "all"   // every site's VIPs: fail open
	FallbackNone  = "none"  // NODATA with the SOA
	FallbackSorry = "sorry" // the Sorry addresses
)

// Site is one place that serves a service: its VIPs are what DNS hands out;
// its director and real servers are what IPVS programs there.
type Site struct {
	Name        string       `yaml:"name" json:"name"`
	VIPs        []string     `yaml:"vips" json:"vips"`
	Location    *SiteLoc     `yaml:"location,omitempty" json:"location,omitempty"`
	Clients     []string     `yaml:"clients,omitempty" json:"clients,omitempty"`
	Weight      *int         `yaml:"weight,omitempty" json:"weight,omitempty"`
	Priority    int          `yaml:"priority,omitempty" json:"priority,omitempty"`
	MinHealthy  *int         `yaml:"min_healthy,omitempty" json:"min_healthy,omitempty"`
	Director    *Director    `yaml:"director,omitempty" json:"director,omitempty"`
	RealServers []RealServer `yaml:"real_servers,omitempty" json:"real_servers,omitempty"`
	Health      *Health      `yaml:"health,omitempty" json:"health,omitempty"`
	VIPCheck    *Health      `yaml:"vip_check,omitempty" json:"vip_check,omitempty"`
}

// SiteLoc is where a site is, for geo steering. Lat and Lon go together.
type SiteLoc struct {
	Lat       *float64 `yaml:"lat,omitempty" json:"lat,omitempty"`
	Lon       *float64 `yaml:"lon,omitempty" json:"lon,omitempty"`
	Country   string   `yaml:"country,omitempty" json:"country,omitempty"`
	Continent string   `yaml:"continent,omitempty" json:"continent,omitempty"`
}

// Director is the site's IPVS virtual service.
type Director struct {
	Mode        string `yaml:"mode" json:"mode"` // nat | dr | tun
	Scheduler   string `yaml:"scheduler,omitempty" json:"scheduler,omitempty"`
	Port        int    `yaml:"port" json:"port"`
	Protocol    string `yaml:"protocol,omitempty" json:"protocol,omitempty"`
	Persistence int    `yaml:"persistence,omitempty" json:"persistence,omitempty"` // seconds
}

// RealServer is a backend behind a site's director.
type RealServer struct {
	Address string  `yaml:"address" json:"address"`
	Port    int     `yaml:"port,omitempty" json:"port,omitempty"`
	Weight  *int    `yaml:"weight,omitempty" json:"weight,omitempty"`
	Health  *Health `yaml:"health,omitempty" json:"health,omitempty"`
}

// Health describes a probe. A site's or real server's block overrides the
// service's field by field.
type Health struct {
	Kind         string   `yaml:"kind,omitempty" json:"kind,omitempty"` // tcp | http | https | dns | exec
	Port         int      `yaml:"port,omitempty" json:"port,omitempty"`
	Path         string   `yaml:"path,omitempty" json:"path,omitempty"`
	Method       string   `yaml:"method,omitempty" json:"method,omitempty"`
	Host         string   `yaml:"host,omitempty" json:"host,omitempty"`
	Expect       []int    `yaml:"expect,omitempty" json:"expect,omitempty"`
	Body         string   `yaml:"body,omitempty" json:"body,omitempty"`
	Insecure     bool     `yaml:"insecure,omitempty" json:"insecure,omitempty"`
	Query        string   `yaml:"query,omitempty" json:"query,omitempty"`
	QueryType    string   `yaml:"query_type,omitempty" json:"query_type,omitempty"`
	Command      []string `yaml:"command,omitempty" json:"command,omitempty"`
	Interval     string   `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout      string   `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Jitter       string   `yaml:"jitter,omitempty" json:"jitter,omitempty"`
	Rise         int      `yaml:"rise,omitempty" json:"rise,omitempty"`
	Fall         int      `yaml:"fall,omitempty" json:"fall,omitempty"`
	ProbeAddress string   `yaml:"probe_address,omitempty" json:"probe_address,omitempty"`
	ProbePort    int      `yaml:"probe_port,omitempty" json:"probe_port,omitempty"`
}

// Admin states of a site, set with `lbdns site drain|enable|disable`.
const (
	SiteEnabled  = "enabled"
	SiteDrained  = "drained"  // out of DNS answers; IPVS weights go to 0
	SiteDisabled = "disabled" // out of DNS answers and not probed
)

// ServiceInfo summarises a service for listings.
type ServiceInfo struct {
	Name   string            `json:"name"`
	Zone   string            `json:"zone"`
	Policy string            `json:"policy"`
	TTL    uint32            `json:"ttl"`
	Sites  []string          `json:"sites"`
	Admin  map[string]string `json:"admin,omitempty"` // site → state, when not enabled
}

// SiteState is the result of a site admin command.
type SiteState struct {
	Service string `json:"service"`
	Site    string `json:"site"`
	State   string `json:"state"`
	TTL     uint32 `json:"ttl"` // resolvers may cache the old answer this long
}

// ServiceEditor is every operation on load-balanced services; like Editor
// it is implemented by the Store and by the admin API client.
type ServiceEditor interface {
	// ApplyServices validates a whole YAML file and creates or replaces the
	// services it lists, in one transaction. filename is for messages.
	ApplyServices(ctx context.Context, filename, text string) ([]ServiceInfo, error)
	ListServices(ctx context.Context) ([]ServiceInfo, error)
	ShowService(ctx context.Context, name string) (Service, error)
	DeleteService(ctx context.Context, name string) error
	SetSiteState(ctx context.Context, service, site, state string) (SiteState, error)
}

package zones

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/miekg/dns"
	"go.etcd.io/bbolt"
)

// Storage of services (schema 1, buckets created on first use):
//
//	services/<name>               Service as JSON, validated and normalised
//	siteadmin/<name> NUL <site>   "drained" or "disabled" (enabled: no key)
var (
	bucketServices  = []byte("services")
	bucketSiteAdmin = []byte("siteadmin")
)

// StoredService is a service as the server compiles it.
type StoredService struct {
	Service
	Zone  string            // origin of the zone the name is in
	Admin map[string]string // site → drained/disabled; enabled sites absent
}

// ApplyServices validates the whole file, then creates or replaces each
// service it lists in one transaction; services not in the file stay.
func (s *Store) ApplyServices(ctx context.Context, filename, text string) ([]ServiceInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	svcs, lines, err := parseServiceFile(filename, text)
	if err != nil {
		return nil, err
	}
	var infos []ServiceInfo
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		infos = infos[:0]
		for i := range svcs {
			info, err := putService(tx, ch, &svcs[i])
			if err != nil {
				return locate(err, filename, fmt.Sprintf("services[%d]", i), lines)
			}
			infos = append(infos, info)
		}
		return nil
	})
	return infos, err
}

// putService stores one validated service after checking it against the
// zones: its name must be in a served zone and hold no other records.
func putService(tx *bbolt.Tx, ch *changeSet, svc *Service) (ServiceInfo, error) {
	origin, zb, err := findZone(tx, svc.Name)
	if err != nil {
		return ServiceInfo{}, Invalid("name", "no served zone contains %s", svc.Name)
	}
	if at, err := scanPrefix(zb, nameKey(svc.Name)); err != nil {
		return ServiceInfo{}, err
	} else if len(at) > 0 {
		return ServiceInfo{}, Invalid("name", "%s already has %s records; a load-balanced name holds no other records",
			svc.Name, dns.Type(at[0].rr.Header().Rrtype))
	}
	b, err := tx.CreateBucketIfNotExists(bucketServices)
	if err != nil {
		return ServiceInfo{}, err
	}
	v, err := json.Marshal(svc)
	if err != nil {
		return ServiceInfo{}, err
	}
	if err := b.Put([]byte(svc.Name), v); err != nil {
		return ServiceInfo{}, err
	}
	if err := pruneSiteAdmin(tx, svc); err != nil {
		return ServiceInfo{}, err
	}
	ch.services(origin)
	if err := bumpSerial(zb, origin); err != nil {
		return ServiceInfo{}, err
	}
	return serviceInfo(tx, svc, origin), nil
}

// pruneSiteAdmin forgets admin state of sites the service no longer has.
func pruneSiteAdmin(tx *bbolt.Tx, svc *Service) error {
	b := tx.Bucket(bucketSiteAdmin)
	if b == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, st := range svc.Sites {
		keep[st.Name] = true
	}
	for site := range siteAdmin(tx, svc.Name) {
		if !keep[site] {
			if err := b.Delete(siteKey(svc.Name, site)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ListServices summarises every service, sorted by name.
func (s *Store) ListServices(ctx context.Context) ([]ServiceInfo, error) {
	all, err := s.Services()
	if err != nil {
		return nil, err
	}
	out := make([]ServiceInfo, 0, len(all))
	for _, ss := range all {
		info := ServiceInfo{Name: ss.Name, Zone: ss.Zone, Policy: ss.Policy, TTL: ss.TTL, Admin: ss.Admin}
		for _, st := range ss.Sites {
			info.Sites = append(info.Sites, st.Name)
		}
		out = append(out, info)
	}
	return out, nil
}

// ShowService returns one service as stored (defaults filled in).
func (s *Store) ShowService(ctx context.Context, name string) (Service, error) {
	n, err := canonName("name", name)
	if err != nil {
		return Service{}, err
	}
	var svc Service
	err = s.db.View(func(tx *bbolt.Tx) error {
		var err error
		svc, err = loadService(tx, n)
		return err
	})
	return svc, err
}

// DeleteService removes a service and its site admin state.
func (s *Store) DeleteService(ctx context.Context, name string) error {
	n, err := canonName("name", name)
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		svc, err := loadService(tx, n)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketServices).Delete([]byte(n)); err != nil {
			return err
		}
		svc.Sites = nil
		if err := pruneSiteAdmin(tx, &svc); err != nil {
			return err
		}
		origin, zb, err := findZone(tx, n)
		if err != nil {
			ch.services("")
			return nil // the zone went first; nothing to bump
		}
		ch.services(origin)
		return bumpSerial(zb, origin)
	})
}

// SetSiteState drains, disables or re-enables one site of a service.
func (s *Store) SetSiteState(ctx context.Context, service, site, state string) (SiteState, error) {
	n, err := canonName("service", service)
	if err != nil {
		return SiteState{}, err
	}
	if state != SiteEnabled && state != SiteDrained && state != SiteDisabled {
		return SiteState{}, Invalid("state", "%q is not enabled, drained or disabled", state)
	}
	var out SiteState
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		svc, err := loadService(tx, n)
		if err != nil {
			return err
		}
		if !svc.hasSite(site) {
			return NotFound("service %s has no site %q", n, site)
		}
		b, err := tx.CreateBucketIfNotExists(bucketSiteAdmin)
		if err != nil {
			return err
		}
		if state == SiteEnabled {
			err = b.Delete(siteKey(n, site))
		} else {
			err = b.Put(siteKey(n, site), []byte(state))
		}
		if err != nil {
			return err
		}
		out = SiteState{Service: n, Site: site, State: state, TTL: svc.TTL}
		origin, zb, err := findZone(tx, n)
		if err != nil {
			ch.services("")
			return nil
		}
		ch.services(origin)
		return bumpSerial(zb, origin)
	})
	return out, err
}

// Services reads every service with its zone and site admin state, for
// compiling the server snapshot.
func (s *Store) Services() ([]StoredService, error) {
	var out []StoredService
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketServices)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var ss StoredService
			if err := json.Unmarshal(v, &ss.Service); err != nil {
				return fmt.Errorf("corrupt service %q in database: %w", k, err)
			}
			if origin, _, err := findZone(tx, ss.Name); err == nil {
				ss.Zone = origin
			}
			ss.Admin = siteAdmin(tx, ss.Name)
			out = append(out, ss)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

func loadService(tx *bbolt.Tx, name string) (Service, error) {
	var svc Service
	b := tx.Bucket(bucketServices)
	if b == nil {
		return svc, NotFound("service %s not found", name)
	}
	v := b.Get([]byte(name))
	if v == nil {
		return svc, NotFound("service %s not found", name)
	}
	if err := json.Unmarshal(v, &svc); err != nil {
		return svc, fmt.Errorf("corrupt service %q in database: %w", name, err)
	}
	return svc, nil
}

// isService reports whether name is a load-balanced service.
func isService(tx *bbolt.Tx, name string) bool {
	b := tx.Bucket(bucketServices)
	return b != nil && b.Get([]byte(name)) != nil
}

// servicesUnder lists the services at or below origin.
func servicesUnder(tx *bbolt.Tx, origin string) []string {
	var out []string
	if b := tx.Bucket(bucketServices); b != nil {
		b.ForEach(func(k, _ []byte) error {
			if o, _, err := findZone(tx, string(k)); err == nil && o == origin {
				out = append(out, string(k))
			}
			return nil
		})
	}
	return out
}

func siteAdmin(tx *bbolt.Tx, service string) map[string]string {
	b := tx.Bucket(bucketSiteAdmin)
	if b == nil {
		return nil
	}
	var out map[string]string
	prefix := siteKey(service, "")
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		if out == nil {
			out = map[string]string{}
		}
		out[string(k[len(prefix):])] = string(v)
	}
	return out
}

func siteKey(service, site string) []byte { return []byte(service + "\x00" + site) }

func serviceInfo(tx *bbolt.Tx, svc *Service, origin string) ServiceInfo {
	info := ServiceInfo{Name: svc.Name, Zone: origin, Policy: svc.Policy, TTL: svc.TTL, Admin: siteAdmin(tx, svc.Name)}
	for _, st := range svc.Sites {
		info.Sites = append(info.Sites, st.Name)
	}
	return info
}

func (s *Service) hasSite(name string) bool {
	for _, st := range s.Sites {
		if st.Name == name {
			return true
		}
	}
	return false
}

package zones

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	"go.etcd.io/bbolt"
)

// SOA timers for new zones: the common RIPE-203-style defaults.
const (
	defaultTTL     = 3600
	soaRefresh     = 3600
	soaRetry       = 600
	soaExpire      = 1209600
	soaNegativeTTL = 300
)

// CreateZone adds an empty zone: SOA, apex NS set and glue for in-zone
// name servers. Its serial is YYYYMMDD00 of today (UTC).
func (s *Store) CreateZone(ctx context.Context, spec ZoneSpec) (ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return ZoneInfo{}, err
	}
	z, err := newZone(spec, dateSerial(s.now()))
	if err != nil {
		return ZoneInfo{}, err
	}
	var info ZoneInfo
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		if zonesBucket(tx).Bucket([]byte(z.Origin)) != nil {
			return Exists("zone %s already exists", z.Origin)
		}
		if err := checkNoServiceRecords(tx, z); err != nil {
			return err
		}
		if last, ok := lastSerial(tx, z.Origin); ok && !serialLess(last, z.SOA().Serial) {
			z.SOA().Serial = nextSerial(last) // re-created: never behind the old zone
		}
		ch.whole(z.Origin)
		if err := writeZone(tx, z); err != nil {
			return err
		}
		info, err = zoneInfo(zonesBucket(tx).Bucket([]byte(z.Origin)), z.Origin)
		return err
	})
	return info, err
}

// newZone builds the records of a zone described by spec.
func newZone(spec ZoneSpec, serial uint32) (*Zone, error) {
	origin, err := canonName("name", spec.Origin)
	if err != nil {
		return nil, err
	}
	ttl := spec.TTL
	if ttl == 0 {
		ttl = defaultTTL
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	if len(spec.NS) == 0 {
		return nil, Invalid("ns", "at least one name server is required")
	}
	rname, err := emailToRName(spec.Email)
	if err != nil {
		return nil, err
	}
	nsRRs, err := nameServerRRs(origin, spec.NS, ttl)
	if err != nil {
		return nil, err
	}
	soa := &dns.SOA{
		Hdr:     header(origin, dns.TypeSOA, ttl),
		Ns:      nsRRs[0].(*dns.NS).Ns,
		Mbox:    rname,
		Serial:  serial,
		Refresh: soaRefresh,
		Retry:   soaRetry,
		Expire:  soaExpire,
		Minttl:  soaNegativeTTL,
	}
	z := &Zone{Origin: origin, Records: append([]dns.RR{soa}, nsRRs...)}
	SortRecords(z.Records)
	return z, nil
}

// nameServerRRs builds the apex NS records, in spec order, and glue.
// Glue is required for a host inside the zone (nothing else could resolve
// it) and refused for one outside (it would not be authoritative data).
func nameServerRRs(origin string, nss []NameServer, ttl uint32) ([]dns.RR, error) {
	var ns, glue []dns.RR
	seen := map[string]bool{}
	for _, n := range nss {
		host, err := canonName("ns", n.Host)
		if err != nil {
			return nil, err
		}
		if seen[host] {
			return nil, Invalid("ns", "%s is listed twice", host)
		}
		seen[host] = true
		ns = append(ns, &dns.NS{Hdr: header(origin, dns.TypeNS, ttl), Ns: host})
		g, err := glueRR(origin, host, strings.TrimSpace(n.Addr), ttl)
		if err != nil {
			return nil, err
		}
		if g != nil {
			glue = append(glue, g)
		}
	}
	return append(ns, glue...), nil
}

func glueRR(origin, host, addr string, ttl uint32) (dns.RR, error) {
	inside := zoneContains(origin, host)
	switch {
	case inside && addr == "":
		return nil, Invalid("ns", "%s is inside %s, so it needs a glue address", host, origin)
	case !inside && addr != "":
		return nil, Invalid("ns", "%s is outside %s; glue is only kept for name servers inside the zone", host, origin)
	case !inside:
		return nil, nil
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" {
		return nil, Invalid("ns", "glue address %q for %s is not an IP address", addr, host)
	}
	if ip.Is4() {
		return &dns.A{Hdr: header(host, dns.TypeA, ttl), A: ip.AsSlice()}, nil
	}
	return &dns.AAAA{Hdr: header(host, dns.TypeAAAA, ttl), AAAA: ip.AsSlice()}, nil
}

func header(name string, rrtype uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: ttl}
}

// ImportZone replaces (or creates) the zone from a master file. The whole
// file is validated before the transaction starts. When the zone existed
// the serial still moves forward, so secondaries pick up the change even
// if the file carries an old serial.
func (s *Store) ImportZone(ctx context.Context, origin, filename, text string) (ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return ZoneInfo{}, err
	}
	z, err := ParseZoneFile(origin, filename, strings.NewReader(text))
	if err != nil {
		return ZoneInfo{}, err
	}
	var info ZoneInfo
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		if err := checkNoServiceRecords(tx, z); err != nil {
			return err
		}
		if old := zonesBucket(tx).Bucket([]byte(z.Origin)); old != nil {
			_, oldSOA, err := loadSOA(old, z.Origin)
			if err != nil {
				return err
			}
			z.SOA().Serial = importSerial(oldSOA.Serial, z.SOA().Serial)
		} else if last, ok := lastSerial(tx, z.Origin); ok {
			z.SOA().Serial = importSerial(last, z.SOA().Serial)
		}
		ch.whole(z.Origin)
		if err := writeZone(tx, z); err != nil {
			return err
		}
		info, err = zoneInfo(zonesBucket(tx).Bucket([]byte(z.Origin)), z.Origin)
		return err
	})
	return info, err
}

// ExportZone renders the zone as a master file (see WriteZoneFile).
func (s *Store) ExportZone(ctx context.Context, origin string) (string, error) {
	z, err := s.loadZone(ctx, origin)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := WriteZoneFile(&b, z); err != nil {
		return "", err
	}
	return b.String(), nil
}

// DeleteZone removes the zone and all its records.
func (s *Store) DeleteZone(ctx context.Context, origin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o, err := canonName("name", origin)
	if err != nil {
		return err
	}
	return s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		if svcs := servicesUnder(tx, o); len(svcs) > 0 && zonesBucket(tx).Bucket([]byte(o)) != nil {
			return Invalid("name", "zone %s holds load-balanced services (%s); delete them first", o, strings.Join(svcs, ", "))
		}
		b := zonesBucket(tx).Bucket([]byte(o))
		if b == nil {
			return NotFound("zone %s not found", o)
		}
		_, soa, err := loadSOA(b, o)
		if err != nil {
			return err
		}
		if err := rememberSerial(tx, o, soa.Serial); err != nil {
			return err
		}
		ch.whole(o)
		return zonesBucket(tx).DeleteBucket([]byte(o))
	})
}

// rememberSerial keeps a deleted zone's last serial, so a zone re-created
// under the same name starts after it and secondaries see it as newer.
func rememberSerial(tx *bbolt.Tx, origin string, serial uint32) error {
	return tx.Bucket(bucketMeta).Put([]byte("serial/"+origin), binary.BigEndian.AppendUint32(nil, serial))
}

// lastSerial is the serial a deleted zone at origin last had.
func lastSerial(tx *bbolt.Tx, origin string) (uint32, bool) {
	v := tx.Bucket(bucketMeta).Get([]byte("serial/" + origin))
	if len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// ListZones summarises every zone, sorted by origin.
func (s *Store) ListZones(ctx context.Context) ([]ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []ZoneInfo{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		zb := zonesBucket(tx)
		return zb.ForEachBucket(func(k []byte) error {
			info, err := zoneInfo(zb.Bucket(k), string(k))
			out = append(out, info)
			return err
		})
	})
	return out, err
}

// ShowZone summarises one zone.
func (s *Store) ShowZone(ctx context.Context, origin string) (ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return ZoneInfo{}, err
	}
	o, err := canonName("name", origin)
	if err != nil {
		return ZoneInfo{}, err
	}
	var info ZoneInfo
	err = s.db.View(func(tx *bbolt.Tx) error {
		b, err := zoneBucket(tx, o)
		if err != nil {
			return err
		}
		info, err = zoneInfo(b, o)
		return err
	})
	return info, err
}

// Zones loads every zone in one read transaction, so the server compiles
// its snapshot from a single consistent state.
func (s *Store) Zones() ([]*Zone, error) {
	var out []*Zone
	err := s.db.View(func(tx *bbolt.Tx) error {
		zb := zonesBucket(tx)
		return zb.ForEachBucket(func(k []byte) error {
			z, err := loadZone(zb.Bucket(k), string(k))
			out = append(out, z)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load zones from %s: %w", s.path, err)
	}
	return out, nil
}

// LoadZone loads one zone, KindNotFound if it does not exist.
func (s *Store) LoadZone(origin string) (*Zone, error) {
	return s.loadZone(context.Background(), origin)
}

func (s *Store) loadZone(ctx context.Context, origin string) (*Zone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := canonName("name", origin)
	if err != nil {
		return nil, err
	}
	var z *Zone
	err = s.db.View(func(tx *bbolt.Tx) error {
		b, err := zoneBucket(tx, o)
		if err != nil {
			return err
		}
		z, err = loadZone(b, o)
		return err
	})
	return z, err
}

// checkNoServiceRecords refuses a zone file with records at a name that is
// a load-balanced service.
func checkNoServiceRecords(tx *bbolt.Tx, z *Zone) error {
	for _, rr := range z.Records {
		if isService(tx, rr.Header().Name) {
			return Invalid("name", "%s is a load-balanced service; it holds no other records", rr.Header().Name)
		}
	}
	return nil
}

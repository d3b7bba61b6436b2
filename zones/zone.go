// Package zones owns lbdns's data model, its validation, the bbolt store,
// RFC 1035 zone-file import and export, and the change feed that tells a
// running server to recompile its snapshot.
package zones

import (
	"context"
	"strings"

	"github.com/miekg/dns"
)

// Zone is one authoritative zone as the store holds it: every record,
// including the apex SOA and NS set, in canonical order.
type Zone struct {
	Origin  string   // lower-case, fully qualified ("example.com.")
	Records []dns.RR // owner names lower-case and fully qualified
}

// SOA returns the zone's apex SOA record, or nil if it has none.
func (z *Zone) SOA() *dns.SOA {
	for _, rr := range z.Records {
		if soa, ok := rr.(*dns.SOA); ok && rr.Header().Name == z.Origin {
			return soa
		}
	}
	return nil
}

// Record is a single resource record in the form the CLI and the admin API
// exchange: presentation-format fields, so it reads the same in JSON, in a
// table and on the command line.
type Record struct {
	Name string `json:"name"` // fully qualified owner
	Type string `json:"type"` // mnemonic: "A", "MX", ...
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"` // RDATA in presentation format
}

// ZoneInfo summarises a zone for listings.
type ZoneInfo struct {
	Origin  string   `json:"origin"`
	Serial  uint32   `json:"serial"`
	Records int      `json:"records"`
	NS      []string `json:"ns"`
	Email   string   `json:"email"` // SOA RNAME as a mail address
}

// NameServer is an apex NS target, with glue when it lies inside the zone.
type NameServer struct {
	Host string `json:"host"`           // fully qualified
	Addr string `json:"addr,omitempty"` // IPv4 or IPv6 glue, optional
}

// ZoneSpec describes a new, empty zone.
type ZoneSpec struct {
	Origin string       `json:"origin"`
	NS     []NameServer `json:"ns"`
	Email  string       `json:"email"`
	TTL    uint32       `json:"ttl"` // SOA and NS TTL; 0 means the default (3600)
}

// Editor is every operation the CLI performs on zones. The bbolt Store
// implements it for direct use; the admin API client implements it when a
// running server holds the database.
type Editor interface {
	CreateZone(ctx context.Context, spec ZoneSpec) (ZoneInfo, error)
	// ImportZone replaces the zone's records with a master file's (creating
	// the zone if needed). filename is used in error messages only.
	ImportZone(ctx context.Context, origin, filename, text string) (ZoneInfo, error)
	ExportZone(ctx context.Context, origin string) (string, error)
	DeleteZone(ctx context.Context, origin string) error
	ListZones(ctx context.Context) ([]ZoneInfo, error)
	ShowZone(ctx context.Context, origin string) (ZoneInfo, error)
	AddRecord(ctx context.Context, r Record) (ZoneInfo, error)
	// DeleteRecord removes one record; with an empty Data it removes the
	// whole RRset of that name and type.
	DeleteRecord(ctx context.Context, r Record) (ZoneInfo, error)
	ListRecords(ctx context.Context, origin string) ([]Record, error)
}

// CanonicalName lower-cases a domain name and makes it fully qualified.
func CanonicalName(name string) string {
	return dns.CanonicalName(strings.TrimSpace(name))
}

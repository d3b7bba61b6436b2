package geo

import (
	"net/netip"
	"strings"
)

// Describe names where addr is, for people ("Frankfurt am Main, DE, EU"),
// from the database's full City record. It decodes every field, so it is
// for explain and logs, never the query path; "" when nothing is known.
func (d *DB) Describe(addr netip.Addr) string {
	if d == nil {
		return ""
	}
	r := d.cur.Load()
	if r == nil || r.city == nil {
		return ""
	}
	c, err := r.city.City(normalize(addr))
	if err != nil || c == nil {
		return ""
	}
	var parts []string
	if n := c.City.Names.English; n != "" {
		parts = append(parts, n)
	}
	if c.Country.ISOCode != "" {
		parts = append(parts, c.Country.ISOCode)
	}
	if c.Continent.Code != "" {
		parts = append(parts, c.Continent.Code)
	}
	return strings.Join(parts, ", ")
}

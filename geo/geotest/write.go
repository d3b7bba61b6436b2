// Package geotest writes small MaxMind City databases for tests, and
// defines a fixed set of test places to fill them with. It is an ordinary
// package (no testing import), so tests in any package can use it.
package geotest

import (
	"fmt"
	"net"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteCityDB writes a MaxMind City-format database to path holding places.
// It is built the way MaxMind ships GeoIP2-City: database type
// "GeoIP2-City", an IPv6 tree with the IPv4 space aliased in at ::/96 (and
// ::ffff:0:0/96, 6to4, Teredo), 28-bit records, and each record laid out as
// in GeoLite2-City: location.latitude/longitude (doubles) and
// accuracy_radius, country.iso_code, continent.code, registered_country,
// plus names.en for the country and continent.
//
// mmdbwriter refuses reserved networks by default, which includes every
// test range Places uses, so they are allowed here (IncludeReservedNetworks).
// IPv4 aliasing stays on, as in real databases. A later place overwrites an
// earlier one where they overlap.
func WriteCityDB(path string, places []Place) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoIP2-City",
		Description:             map[string]string{"en": "lbdns test City database"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
		IPVersion:               6,
	})
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	for _, p := range places {
		if !p.Network.IsValid() {
			return fmt.Errorf("geotest: invalid network %q", p.Network.String())
		}
		n := p.Network.Masked()
		ipnet := &net.IPNet{IP: n.Addr().AsSlice(), Mask: net.CIDRMask(n.Bits(), n.Addr().BitLen())}
		if err := tree.Insert(ipnet, record(p)); err != nil {
			return fmt.Errorf("geotest: insert %s: %w", n, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	return nil
}

// record is p as a GeoLite2-City record.
func record(p Place) mmdbtype.Map {
	r := mmdbtype.Map{}
	if p.HasCoords() {
		r["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(p.Lat),
			"longitude":       mmdbtype.Float64(p.Lon),
			"accuracy_radius": mmdbtype.Uint16(20),
		}
	}
	if p.Country != "" {
		c := mmdbtype.Map{
			"iso_code": mmdbtype.String(p.Country),
			"names":    mmdbtype.Map{"en": mmdbtype.String(name(countryNames, p.Country))},
		}
		r["country"] = c
		r["registered_country"] = c
	}
	if p.Continent != "" {
		r["continent"] = mmdbtype.Map{
			"code":  mmdbtype.String(p.Continent),
			"names": mmdbtype.Map{"en": mmdbtype.String(name(continentNames, p.Continent))},
		}
	}
	return r
}

var countryNames = map[string]string{
	"AU": "Australia", "BR": "Brazil", "CH": "Switzerland", "DE": "Germany",
	"FR": "France", "GB": "United Kingdom", "JP": "Japan", "NL": "Netherlands",
	"US": "United States",
}

var continentNames = map[string]string{
	"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
	"NA": "North America", "OC": "Oceania", "SA": "South America",
}

func name(names map[string]string, code string) string {
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

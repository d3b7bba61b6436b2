package geotest

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/oschwald/geoip2-golang/v2"
)

// TestWriteCityDB reads the database back with MaxMind's own geoip2 reader,
// which is what proves the layout matches a real GeoIP2-City file.
func TestWriteCityDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := WriteCityDB(path, Places); err != nil {
		t.Fatal(err)
	}
	db, err := geoip2.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Metadata().DatabaseType; got != "GeoIP2-City" {
		t.Errorf("database type = %q", got)
	}
	if got := db.Metadata().IPVersion; got != 6 {
		t.Errorf("IP version = %d", got)
	}
	for _, p := range Places {
		t.Run(p.Network.String(), func(t *testing.T) {
			for _, a := range []netip.Addr{p.Addr(), lastAddr(p.Network)} {
				c, err := db.City(a)
				if err != nil {
					t.Fatal(err)
				}
				if c.Traits.Network != p.Network {
					t.Errorf("City(%s) network = %s, want %s", a, c.Traits.Network, p.Network)
				}
				if c.Country.ISOCode != p.Country || c.Continent.Code != p.Continent {
					t.Errorf("City(%s) = %q/%q, want %q/%q", a, c.Country.ISOCode, c.Continent.Code, p.Country, p.Continent)
				}
				if p.Country != "" && c.Country.Names.English == "" {
					t.Errorf("City(%s) has no country name", a)
				}
				if p.Continent != "" && c.Continent.Names.English == "" {
					t.Errorf("City(%s) has no continent name", a)
				}
				if c.Location.HasCoordinates() != p.HasCoords() {
					t.Fatalf("City(%s) has coordinates %v, want %v", a, c.Location.HasCoordinates(), p.HasCoords())
				}
				if p.HasCoords() && (*c.Location.Latitude != p.Lat || *c.Location.Longitude != p.Lon) {
					t.Errorf("City(%s) at %v,%v, want %v,%v", a, *c.Location.Latitude, *c.Location.Longitude, p.Lat, p.Lon)
				}
			}
		})
	}
	// IPv4 is reachable through the IPv4-mapped alias, as in MaxMind files.
	c, err := db.City(netip.MustParseAddr("::ffff:198.18.1.1"))
	if err != nil || c.Country.ISOCode != "DE" {
		t.Errorf("IPv4-mapped lookup = %v, %v", c.Country.ISOCode, err)
	}
	c, err = db.City(UnknownV4)
	if err != nil || c.HasData() {
		t.Errorf("City(UnknownV4) = %+v, %v; want no data", c, err)
	}
	c, err = db.City(UnknownV6)
	if err != nil || c.HasData() {
		t.Errorf("City(UnknownV6) = %+v, %v; want no data", c, err)
	}
}

func TestPlacesAreDistinct(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for _, p := range Places {
		if p.Network != p.Network.Masked() {
			t.Errorf("%s is not masked", p.Network)
		}
		for q := range seen {
			if q.Overlaps(p.Network) {
				t.Errorf("%s overlaps %s", p.Network, q)
			}
		}
		seen[p.Network] = true
		if p.Network.Contains(UnknownV4) || p.Network.Contains(UnknownV6) {
			t.Errorf("%s contains an Unknown address", p.Network)
		}
	}
}

func TestWriteCityDBErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCityDB(filepath.Join(dir, "x.mmdb"), []Place{{}}); err == nil {
		t.Error("invalid network accepted")
	}
	if err := WriteCityDB(filepath.Join(dir, "missing", "x.mmdb"), Places); err == nil {
		t.Error("unwritable path accepted")
	}
	if err := WriteCityDB(filepath.Join(dir, "empty.mmdb"), nil); err != nil {
		t.Errorf("empty database: %v", err)
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

package geo

import (
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/geo/geotest"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openPlaces writes geotest.Places to a fresh database and opens it.
func openPlaces(t testing.TB) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, geotest.Places); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func placeLocation(p geotest.Place) Location {
	return Location{Lat: p.Lat, Lon: p.Lon, HasCoords: p.HasCoords(), Country: p.Country, Continent: p.Continent}
}

func TestDBLookupPlaces(t *testing.T) {
	db := openPlaces(t)
	for _, p := range geotest.Places {
		t.Run(p.Network.String(), func(t *testing.T) {
			want := placeLocation(p)
			addrs := []netip.Addr{p.Addr(), lastAddrOf(p.Network)}
			for _, a := range addrs {
				// Twice: the first decodes, the second comes from the cache.
				for range 2 {
					loc, network, ok := db.Lookup(a)
					if !ok || loc != want || network != p.Network {
						t.Errorf("Lookup(%s) = (%+v, %s, %v), want (%+v, %s, true)", a, loc, network, ok, want, p.Network)
					}
				}
			}
		})
	}
}

func TestDBLookupAddressForms(t *testing.T) {
	db := openPlaces(t)
	fra := placeLocation(geotest.Frankfurt)
	tests := []struct {
		name    string
		addr    string
		loc     Location
		network string
		ok      bool
	}{
		{"IPv4", "198.18.1.1", fra, "198.18.0.0/16", true},
		// Dual-stack sockets report IPv4 clients like this; they are looked
		// up and reported as IPv4.
		{"IPv4-mapped", "::ffff:198.18.1.1", fra, "198.18.0.0/16", true},
		{"IPv6 with zone", "2001:db8:1::1%eth0", placeLocation(geotest.Frankfurt6), "2001:db8:1::/48", true},
		// 6to4 is aliased to the IPv4 tree, as in MaxMind's files; the
		// network is then reported in IPv6 terms.
		{"6to4 of a Frankfurt address", "2002:c612:0101::1", fra, "2002:c612::/32", true},
		{"country only", "100.67.0.9", Location{Country: "DE"}, "100.67.0.0/24", true},
		{"continent only", "2001:db8:5::9", Location{Continent: "EU"}, "2001:db8:5::/48", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, network, ok := db.Lookup(ip(tt.addr))
			if loc != tt.loc || network != pfx(tt.network) || ok != tt.ok {
				t.Errorf("Lookup(%s) = (%+v, %s, %v), want (%+v, %s, %v)", tt.addr, loc, network, ok, tt.loc, tt.network, tt.ok)
			}
		})
	}
}

// TestDBLookupUnknown checks addresses the database has no record for: the
// network returned is the empty one the tree lookup ended in, which must
// contain the address and overlap no place.
func TestDBLookupUnknown(t *testing.T) {
	db := openPlaces(t)
	for _, s := range []string{
		geotest.UnknownV4.String(), geotest.UnknownV6.String(),
		"198.19.18.1", "100.127.255.255", "192.0.2.1", "::ffff:192.0.2.1", "2001:db8:6::1", "3fff:4::1", "::1",
	} {
		t.Run(s, func(t *testing.T) {
			a := ip(s)
			loc, network, ok := db.Lookup(a)
			if ok || loc.Known() {
				t.Fatalf("Lookup(%s) = (%+v, %v), want nothing", s, loc, ok)
			}
			u := a.Unmap()
			if !network.Contains(u) {
				t.Fatalf("network %s does not contain %s", network, u)
			}
			if network.Bits() >= u.BitLen() {
				t.Errorf("network %s is the host prefix; want the empty tree network", network)
			}
			for _, p := range geotest.Places {
				if network.Overlaps(p.Network) {
					t.Errorf("empty network %s overlaps %s", network, p.Network)
				}
			}
		})
	}
	// Exact values for two of them, worked out from the places around them.
	for addr, want := range map[string]string{
		"198.19.18.1": "198.19.18.0/23", // after New York /24 and Ashburn /24 in 198.19.16.0/22
		"3fff:4::1":   "3fff:4::/30",    // after 3fff:1::/32 .. 3fff:3::/32
	} {
		if _, network, _ := db.Lookup(ip(addr)); network != pfx(want) {
			t.Errorf("Lookup(%s) network = %s, want %s", addr, network, want)
		}
	}
}

func TestDBLookupNoIPv4Data(t *testing.T) {
	// A database with IPv6 data only: every IPv4 address shares the same
	// empty record, and the network says so.
	path := filepath.Join(t.TempDir(), "v6.mmdb")
	if err := geotest.WriteCityDB(path, []geotest.Place{geotest.Tokyo6}); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, network, ok := db.Lookup(ip("198.18.0.1"))
	if ok || !network.Contains(ip("198.18.0.1")) {
		t.Errorf("Lookup = (%s, %v)", network, ok)
	}
}

func TestDBNilAndClosed(t *testing.T) {
	closed := openPlaces(t)
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := closed.Reload(); err == nil {
		t.Error("Reload after Close succeeded")
	}
	for name, db := range map[string]*DB{"nil": nil, "closed": closed} {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				addr    netip.Addr
				network netip.Prefix
			}{
				{geotest.Frankfurt.Addr(), pfx("198.18.0.1/32")},
				{ip("::ffff:198.18.0.1"), pfx("198.18.0.1/32")},
				{geotest.Tokyo6.Addr(), pfx("3fff:3::1/128")},
				{netip.Addr{}, netip.Prefix{}},
			}
			for _, tt := range tests {
				loc, network, ok := db.Lookup(tt.addr)
				if ok || loc != (Location{}) || network != tt.network {
					t.Errorf("Lookup(%s) = (%+v, %s, %v), want (zero, %s, false)", tt.addr, loc, network, ok, tt.network)
				}
			}
		})
	}
	var db *DB
	if err := db.Reload(); err != nil {
		t.Errorf("nil Reload: %v", err)
	}
	db.Watch(t.Context(), 0)
	if err := db.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "good.mmdb")
	if err := geotest.WriteCityDB(good, geotest.Places); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string // substring of the error besides the path
	}{
		{"missing", filepath.Join(dir, "missing.mmdb"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"empty", write("empty.mmdb", nil), "not a MaxMind DB"},
		{"text", write("text.mmdb", []byte("this is not a database\n")), "not a MaxMind DB"},
		{"truncated", write("truncated.mmdb", goodBytes[:len(goodBytes)/2]), "not a MaxMind DB"},
		{"wrong type", writeTyped(t, dir, "GeoLite2-ASN"), "not a City database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path, quietLogger())
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %q, want it to name %s and say %q", err, tt.path, tt.want)
			}
		})
	}
}

func TestCityLike(t *testing.T) {
	for typ, want := range map[string]bool{
		"GeoIP2-City": true, "GeoLite2-City": true, "GeoIP2-Country": true, "GeoLite2-Country": true,
		"GeoIP2-Enterprise": true, "DBIP-City-Lite": true, "DBIP-Location (compat=City)": true,
		"GeoLite2-ASN": false, "GeoIP2-Anonymous-IP": false, "GeoIP2-ISP": false, "": false,
	} {
		if got := cityLike(typ); got != want {
			t.Errorf("cityLike(%q) = %v, want %v", typ, got, want)
		}
	}
}

func lastAddrOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func BenchmarkLookup(b *testing.B) {
	db := openPlaces(b)
	addrs := make([]netip.Addr, 0, 2*len(geotest.Places))
	for _, p := range geotest.Places {
		addrs = append(addrs, p.Addr(), lastAddrOf(p.Network))
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			db.Lookup(addrs[i%len(addrs)])
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			db.Lookup(geotest.UnknownV4)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				db.Lookup(addrs[i%len(addrs)])
			}
		})
	})
}

// BenchmarkLookupUncached measures a lookup whose record is not in the cache:
// tree walk plus decoding, and the one allocation for the cache entry.
func BenchmarkLookupUncached(b *testing.B) {
	db := openPlaces(b)
	r := db.cur.Load()
	a := geotest.Paris.Addr()
	b.ReportAllocs()
	for b.Loop() {
		res := r.mm.Lookup(a)
		e := &cacheEntry{offset: res.Offset()}
		if err := res.Decode(&e.cityRecord); err != nil {
			b.Fatal(err)
		}
	}
}

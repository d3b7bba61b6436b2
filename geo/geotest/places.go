package geotest

import "net/netip"

// Place is one network of a test City database and where it is. Lat and Lon
// both 0 means "no coordinates": the record then has no location, like
// MaxMind records that only know the country.
type Place struct {
	Network            netip.Prefix
	Lat, Lon           float64
	Country, Continent string
}

// The test places. IPv4 networks are carved from the benchmarking range
// 198.18.0.0/15 (RFC 2544) and the shared address space 100.64.0.0/10 (RFC
// 6598); IPv6 ones from the documentation prefixes 2001:db8::/32 (RFC 3849)
// and 3fff::/20 (RFC 9637). None of them is routed on the Internet, so a
// test can never confuse them with a real client. Prefix lengths differ on
// purpose (/16, /20, /24 for IPv4; /32, /48 for IPv6), so ECS scope tests
// can tell which network decided an answer.
//
// Neighbouring networks have different records, so the database cannot
// merge them: 198.18.0.0/16 and 198.19.0.0/20 stay distinct.
var (
	// Europe.
	Frankfurt  = Place{Network: netip.MustParsePrefix("198.18.0.0/16"), Lat: 50.1109, Lon: 8.6821, Country: "DE", Continent: "EU"}
	Frankfurt6 = Place{Network: netip.MustParsePrefix("2001:db8:1::/48"), Lat: 50.1109, Lon: 8.6821, Country: "DE", Continent: "EU"}
	Paris      = Place{Network: netip.MustParsePrefix("198.19.0.0/20"), Lat: 48.8566, Lon: 2.3522, Country: "FR", Continent: "EU"}
	Paris6     = Place{Network: netip.MustParsePrefix("2001:db8:2::/48"), Lat: 48.8566, Lon: 2.3522, Country: "FR", Continent: "EU"}

	// North America: two sites in one country, about 350 km apart.
	NewYork  = Place{Network: netip.MustParsePrefix("198.19.16.0/24"), Lat: 40.7128, Lon: -74.0060, Country: "US", Continent: "NA"}
	NewYork6 = Place{Network: netip.MustParsePrefix("3fff:1::/32"), Lat: 40.7128, Lon: -74.0060, Country: "US", Continent: "NA"}
	Ashburn  = Place{Network: netip.MustParsePrefix("198.19.17.0/24"), Lat: 39.0438, Lon: -77.4874, Country: "US", Continent: "NA"}
	Ashburn6 = Place{Network: netip.MustParsePrefix("2001:db8:3::/48"), Lat: 39.0438, Lon: -77.4874, Country: "US", Continent: "NA"}

	// South America, Asia, Oceania.
	SaoPaulo  = Place{Network: netip.MustParsePrefix("100.64.0.0/16"), Lat: -23.5505, Lon: -46.6333, Country: "BR", Continent: "SA"}
	SaoPaulo6 = Place{Network: netip.MustParsePrefix("3fff:2::/32"), Lat: -23.5505, Lon: -46.6333, Country: "BR", Continent: "SA"}
	Tokyo     = Place{Network: netip.MustParsePrefix("100.65.0.0/20"), Lat: 35.6762, Lon: 139.6503, Country: "JP", Continent: "AS"}
	Tokyo6    = Place{Network: netip.MustParsePrefix("3fff:3::/32"), Lat: 35.6762, Lon: 139.6503, Country: "JP", Continent: "AS"}
	Sydney    = Place{Network: netip.MustParsePrefix("100.66.0.0/24"), Lat: -33.8688, Lon: 151.2093, Country: "AU", Continent: "OC"}
	Sydney6   = Place{Network: netip.MustParsePrefix("2001:db8:4::/48"), Lat: -33.8688, Lon: 151.2093, Country: "AU", Continent: "OC"}

	// CountryOnly knows the country (Germany) and nothing else: no
	// coordinates, no continent. Rank must fall back to the country.
	CountryOnly = Place{Network: netip.MustParsePrefix("100.67.0.0/24"), Country: "DE"}
	// ContinentOnly knows only the continent (Europe), as MaxMind records for
	// networks used across a continent do.
	ContinentOnly = Place{Network: netip.MustParsePrefix("2001:db8:5::/48"), Continent: "EU"}
)

// Places is every test place above, IPv4 and IPv6.
var Places = []Place{
	Frankfurt, Frankfurt6, Paris, Paris6,
	NewYork, NewYork6, Ashburn, Ashburn6,
	SaoPaulo, SaoPaulo6, Tokyo, Tokyo6, Sydney, Sydney6,
	CountryOnly, ContinentOnly,
}

// Unknown addresses lie inside the test ranges but in no place, so a lookup
// misses. UnknownV4 is in 198.19.0.0/16 between Paris and New York.
var (
	UnknownV4 = netip.MustParseAddr("198.19.200.1")
	UnknownV6 = netip.MustParseAddr("2001:db8:ff::1")
)

// Addr returns an address inside p's network: its network address plus one,
// a typical host.
func (p Place) Addr() netip.Addr {
	return p.Network.Masked().Addr().Next()
}

// HasCoords reports whether p has coordinates (Lat and Lon not both 0).
func (p Place) HasCoords() bool {
	return p.Lat != 0 || p.Lon != 0
}

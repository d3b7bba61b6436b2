package geo

// Location is where a client or a site is. Any part may be missing: a GeoIP
// record can carry a country without coordinates, and a site may be
// configured with a country only, so Rank falls back from distance to
// country to continent.
type Location struct {
	Lat, Lon  float64
	HasCoords bool
	Country   string // ISO 3166-1 alpha-2, upper case, "" if unknown
	Continent string // two-letter continent code (EU, NA, AS, ...), "" if unknown
}

// Known reports whether l says anything at all about where it is. An unknown
// client location cannot order sites, so Rank refuses it.
func (l Location) Known() bool {
	return l.HasCoords || l.Country != "" || l.Continent != ""
}

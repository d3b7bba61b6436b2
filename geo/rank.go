package geo

// Ranks used by Rank when a distance cannot be computed because one side has
// no coordinates. They are in the same unit as Distance (km) so that callers
// can sort one slice of ranks, and they all lie beyond MaxDistance (≈ 20015
// km, the farthest two points on Earth can be): any site whose distance is
// known sorts before any site that only matched by country, which sorts
// before a continent match, which sorts before everything else. A measured
// distance is information; a country match is a guess about a region that can
// be thousands of km wide, so the guess only breaks ties among sites that
// could not be measured.
const (
	RankSameCountry   = 30000.0 // same ISO country code, no distance
	RankSameContinent = 40000.0 // same continent code, no distance
	RankElsewhere     = 50000.0 // nothing in common, or the site is unknown
)

// Rank orders a site location for a client: lower is nearer. With
// coordinates on both sides it is Distance. Otherwise it is RankSameCountry,
// RankSameContinent or RankElsewhere, whichever first applies. When nothing
// is known about the client it returns (0, false): there is no order, and the
// caller should fall back to its own (for example, configuration order).
func Rank(client, site Location) (float64, bool) {
	if !client.Known() {
		return 0, false
	}
	switch {
	case client.HasCoords && site.HasCoords:
		return Distance(client, site), true
	case client.Country != "" && client.Country == site.Country:
		return RankSameCountry, true
	case client.Continent != "" && client.Continent == site.Continent:
		return RankSameContinent, true
	default:
		return RankElsewhere, true
	}
}

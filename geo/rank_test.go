package geo

import (
	"cmp"
	"slices"
	"testing"
)

func TestRank(t *testing.T) {
	withPlace := func(l Location, country, continent string) Location {
		l.Country, l.Continent = country, continent
		return l
	}
	fra := withPlace(frankfurt, "DE", "EU")
	par := withPlace(paris, "FR", "EU")
	nyc := withPlace(newYork, "US", "NA")
	tyo := withPlace(tokyo, "JP", "AS")
	countryDE := Location{Country: "DE", Continent: "EU"}
	countryFR := Location{Country: "FR", Continent: "EU"}
	countryUS := Location{Country: "US", Continent: "NA"}
	continentEU := Location{Continent: "EU"}

	tests := []struct {
		name   string
		client Location
		site   Location
		want   float64
		ok     bool
	}{
		{"coordinates both sides", fra, nyc, Distance(frankfurt, newYork), true},
		{"coordinates win over matching country", fra, withPlace(tokyo, "DE", "EU"), Distance(frankfurt, tokyo), true},
		{"site without coordinates, same country", fra, countryDE, RankSameCountry, true},
		{"site without coordinates, same continent", fra, countryFR, RankSameContinent, true},
		{"site without coordinates, elsewhere", fra, countryUS, RankElsewhere, true},
		{"client without coordinates, same country", countryDE, fra, RankSameCountry, true},
		{"client continent only", continentEU, par, RankSameContinent, true},
		{"client continent only, elsewhere", continentEU, tyo, RankElsewhere, true},
		{"client country only, no continent to fall back on", Location{Country: "DE"}, par, RankElsewhere, true},
		{"unknown site", fra, Location{}, RankElsewhere, true},
		{"unknown client", Location{}, fra, 0, false},
		{"unknown both", Location{}, Location{}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Rank(tt.client, tt.site)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Rank = (%v, %v), want (%v, %v)", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestRankOrdering sorts a set of sites for several clients the way the
// server will, and checks the resulting order.
func TestRankOrdering(t *testing.T) {
	sites := map[string]Location{
		"fra":     {Lat: frankfurt.Lat, Lon: frankfurt.Lon, HasCoords: true, Country: "DE", Continent: "EU"},
		"par":     {Lat: paris.Lat, Lon: paris.Lon, HasCoords: true, Country: "FR", Continent: "EU"},
		"nyc":     {Lat: newYork.Lat, Lon: newYork.Lon, HasCoords: true, Country: "US", Continent: "NA"},
		"tyo":     {Lat: tokyo.Lat, Lon: tokyo.Lon, HasCoords: true, Country: "JP", Continent: "AS"},
		"syd":     {Lat: sydney.Lat, Lon: sydney.Lon, HasCoords: true, Country: "AU", Continent: "OC"},
		"de-only": {Country: "DE", Continent: "EU"},
		"nl-only": {Country: "NL", Continent: "EU"},
		"nowhere": {},
	}
	tests := []struct {
		name   string
		client Location
		want   []string
	}{
		{"London by coordinates", Location{Lat: london.Lat, Lon: london.Lon, HasCoords: true, Country: "GB", Continent: "EU"},
			[]string{"par", "fra", "nyc", "tyo", "syd", "de-only", "nl-only", "nowhere"}},
		{"Osaka by coordinates", Location{Lat: 34.6937, Lon: 135.5023, HasCoords: true, Country: "JP", Continent: "AS"},
			[]string{"tyo", "syd", "fra", "par", "nyc", "de-only", "nl-only", "nowhere"}},
		{"German client, country only", Location{Country: "DE", Continent: "EU"},
			[]string{"de-only", "fra", "nl-only", "par", "nowhere", "nyc", "syd", "tyo"}},
		{"European client, continent only", Location{Continent: "EU"},
			[]string{"de-only", "fra", "nl-only", "par", "nowhere", "nyc", "syd", "tyo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := make([]string, 0, len(sites))
			rank := map[string]float64{}
			for n, s := range sites {
				r, ok := Rank(tt.client, s)
				if !ok {
					t.Fatalf("Rank(%s) not ok", n)
				}
				names = append(names, n)
				rank[n] = r
			}
			// Sort by rank, ties by name, so the expectation is deterministic.
			slices.SortFunc(names, func(a, b string) int {
				return cmp.Or(cmp.Compare(rank[a], rank[b]), cmp.Compare(a, b))
			})
			if !slices.Equal(names, tt.want) {
				t.Errorf("order = %v, want %v", names, tt.want)
			}
		})
	}
}

func TestRankConstantsSortAfterDistances(t *testing.T) {
	if !(MaxDistance < RankSameCountry && RankSameCountry < RankSameContinent && RankSameContinent < RankElsewhere) {
		t.Errorf("want MaxDistance < RankSameCountry < RankSameContinent < RankElsewhere, got %v, %v, %v, %v",
			MaxDistance, RankSameCountry, RankSameContinent, RankElsewhere)
	}
}

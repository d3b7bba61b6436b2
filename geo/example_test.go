package geo_test

import (
	"fmt"
	"net/netip"

	"github.com/lbdns/lbdns/geo"
)

// A client in 198.18.0.0/16 whose answer was decided by that entry: the
// /24 beside it sends its clients elsewhere, so the answer may only be
// cached for 198.18.0.0/22, not for the whole /16.
func ExamplePrefixMap_Scope() {
	m, err := geo.NewPrefixMap([]geo.PrefixEntry{
		{Prefix: netip.MustParsePrefix("198.18.0.0/16"), Value: 0},
		{Prefix: netip.MustParsePrefix("198.18.5.0/24"), Value: 1},
	})
	if err != nil {
		panic(err)
	}
	client := netip.MustParseAddr("198.18.0.1")
	e, _ := m.Lookup(client)
	fmt.Println(e.Prefix, m.Scope(client, e.Prefix))
	// Output: 198.18.0.0/16 22
}

func ExampleRank() {
	frankfurt := geo.Location{Lat: 50.1109, Lon: 8.6821, HasCoords: true, Country: "DE", Continent: "EU"}
	newYork := geo.Location{Lat: 40.7128, Lon: -74.0060, HasCoords: true, Country: "US", Continent: "NA"}
	somewhereInGermany := geo.Location{Country: "DE", Continent: "EU"}

	d, _ := geo.Rank(frankfurt, newYork)
	fmt.Printf("%.0f km\n", d)
	r, _ := geo.Rank(frankfurt, somewhereInGermany)
	fmt.Println(r == geo.RankSameCountry)
	_, ok := geo.Rank(geo.Location{}, newYork)
	fmt.Println(ok)
	// Output:
	// 6203 km
	// true
	// false
}

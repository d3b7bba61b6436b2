package geo

import "testing"

func TestLocationKnown(t *testing.T) {
	tests := []struct {
		name string
		loc  Location
		want bool
	}{
		{"zero", Location{}, false},
		{"coords", Location{Lat: 0, Lon: 0, HasCoords: true}, true},
		{"coords without flag", Location{Lat: 50, Lon: 8}, false},
		{"country", Location{Country: "DE"}, true},
		{"continent", Location{Continent: "EU"}, true},
		{"all", Location{Lat: 50, Lon: 8, HasCoords: true, Country: "DE", Continent: "EU"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.loc.Known(); got != tt.want {
				t.Errorf("Known() = %v, want %v", got, tt.want)
			}
		})
	}
}

package geo

import (
	"math"
	"testing"
)

func at(lat, lon float64) Location { return Location{Lat: lat, Lon: lon, HasCoords: true} }

var (
	frankfurt = at(50.1109, 8.6821)
	paris     = at(48.8566, 2.3522)
	london    = at(51.5074, -0.1278)
	newYork   = at(40.7128, -74.0060)
	tokyo     = at(35.6762, 139.6503)
	sydney    = at(-33.8688, 151.2093)
)

func TestDistance(t *testing.T) {
	// Published great-circle distances between city centres, in km.
	tests := []struct {
		name string
		a, b Location
		want float64
	}{
		{"Frankfurt-New York", frankfurt, newYork, 6200},
		{"London-New York", london, newYork, 5570},
		{"Paris-Tokyo", paris, tokyo, 9714},
		{"Sydney-Tokyo", sydney, tokyo, 7826},
		{"Frankfurt-Paris", frankfurt, paris, 479},
		{"quarter meridian", at(0, 0), at(90, 0), MaxDistance / 2},
		{"antipodes", at(0, 0), at(0, 180), MaxDistance},
		{"antipodes off the equator", at(45, 10), at(-45, -170), MaxDistance},
		{"across the date line", at(0, 179.5), at(0, -179.5), 111.2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Distance(tt.a, tt.b)
			if math.Abs(got-tt.want) > tt.want*0.01 {
				t.Errorf("Distance = %.1f km, want %.0f km ±1%%", got, tt.want)
			}
			if back := Distance(tt.b, tt.a); math.Abs(back-got) > 1e-9 {
				t.Errorf("not symmetric: %.6f vs %.6f", got, back)
			}
		})
	}
	if d := Distance(tokyo, tokyo); d != 0 {
		t.Errorf("Distance(x, x) = %v, want 0", d)
	}
	if MaxDistance < 20015 || MaxDistance > 20016 {
		t.Errorf("MaxDistance = %v, want ≈ 20015.1", MaxDistance)
	}
}

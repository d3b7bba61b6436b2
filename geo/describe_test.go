package geo

import (
	"testing"

	"github.com/lbdns/lbdns/geo/geotest"
)

func TestDescribe(t *testing.T) {
	db := openPlaces(t)
	tests := []struct {
		name string
		p    geotest.Place
		want string
	}{
		{"IPv4 city", geotest.Frankfurt, "DE, EU"},
		{"IPv6 city", geotest.Tokyo6, "JP, AS"},
	}
	for _, tt := range tests {
		if got := db.Describe(tt.p.Addr()); got != tt.want {
			t.Errorf("%s: Describe = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := db.Describe(geotest.UnknownV4); got != "" {
		t.Errorf("unknown address described as %q", got)
	}
	var none *DB
	if got := none.Describe(geotest.Frankfurt.Addr()); got != "" {
		t.Errorf("nil DB described %q", got)
	}
}

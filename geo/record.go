package geo

import (
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// cityRecord decodes the few fields lbdns needs from a GeoIP2/GeoLite2 City
// record (location.latitude/longitude, country.iso_code, continent.code) and
// skips the rest (names in many languages, subdivisions, postal codes, ...).
// Walking the record with cursors instead of decoding geoip2.City avoids
// allocating the whole record and its strings on every query.
type cityRecord struct {
	loc Location
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *cityRecord) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, mmdbdata.NormalizeUnmarshalError[cityRecord](err)
	}
	var next mmdbdata.Cursor
	for k, v, ok := m.Next(next); ok; k, v, ok = m.Next(next) {
		switch string(k) {
		case "location":
			next, err = r.decodeLocation(v)
		case "country":
			next, err = decodeCode(v, "iso_code", &r.loc.Country)
		case "continent":
			next, err = decodeCode(v, "code", &r.loc.Continent)
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

func (r *cityRecord) decodeLocation(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var (
		next           mmdbdata.Cursor
		lat, lon       float64
		hasLat, hasLon bool
	)
	for k, v, ok := m.Next(next); ok; k, v, ok = m.Next(next) {
		switch string(k) {
		case "latitude":
			lat, next, err = v.ReadFloat()
			hasLat = err == nil
		case "longitude":
			lon, next, err = v.ReadFloat()
			hasLon = err == nil
		default:
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	// MaxMind omits both coordinates when it only knows the country; a lone
	// one is not a position.
	if hasLat && hasLon {
		r.loc.Lat, r.loc.Lon, r.loc.HasCoords = lat, lon, true
	}
	return m.End()
}

// decodeCode reads the string at field in the map at c into *dst, interned
// and upper-cased.
func decodeCode(c mmdbdata.Cursor, field string, dst *string) (mmdbdata.Cursor, error) {
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for k, v, ok := m.Next(next); ok; k, v, ok = m.Next(next) {
		if string(k) == field {
			// ReadMapKey reads any string value without copying it; Skip
			// then yields the successor the map iterator checks.
			var b []byte
			if b, _, err = v.ReadMapKey(); err == nil {
				*dst = internCode(b)
			}
		}
		if err == nil {
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// letterPairs holds every two-letter upper-case code, AA..ZZ, back to back.
// Country and continent codes are such pairs, so internCode can hand out a
// substring of it instead of allocating, and the result never aliases the
// database buffer, which is dropped on reload.
var letterPairs = func() string {
	var b strings.Builder
	b.Grow(26 * 26 * 2)
	for i := byte('A'); i <= 'Z'; i++ {
		for j := byte('A'); j <= 'Z'; j++ {
			b.WriteByte(i)
			b.WriteByte(j)
		}
	}
	return b.String()
}()

func upper(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c, true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A', true
	}
	return c, false
}

// internCode returns b upper-cased as a string, without allocating for the
// two-letter codes real databases hold.
func internCode(b []byte) string {
	if len(b) == 2 {
		x, ok1 := upper(b[0])
		y, ok2 := upper(b[1])
		if ok1 && ok2 {
			i := (int(x-'A')*26 + int(y-'A')) * 2
			return letterPairs[i : i+2]
		}
	}
	return strings.ToUpper(string(b))
}

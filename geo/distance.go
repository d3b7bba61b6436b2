package geo

import "math"

// EarthRadiusKm is the mean Earth radius (IUGG), the R in Distance.
const EarthRadiusKm = 6371.0088

// MaxDistance is the largest great-circle distance Distance can return: half
// the circumference, between antipodes (≈ 20015.1 km).
const MaxDistance = math.Pi * EarthRadiusKm

const degToRad = math.Pi / 180

// Distance is the great-circle distance in km between a and b, by the
// haversine formula on a sphere of radius EarthRadiusKm. The sphere is off by
// at most about 0.5% against the ellipsoid, far below what choosing the
// nearest site needs. It uses Lat/Lon as given and does not look at
// HasCoords; Rank is the function that copes with missing coordinates.
func Distance(a, b Location) float64 {
	lat1 := a.Lat * degToRad
	lat2 := b.Lat * degToRad
	sinDLat := math.Sin((lat2 - lat1) / 2)
	sinDLon := math.Sin((b.Lon - a.Lon) * degToRad / 2)
	h := sinDLat*sinDLat + math.Cos(lat1)*math.Cos(lat2)*sinDLon*sinDLon
	// Rounding can push h a hair past 1 for antipodes; asin would give NaN.
	h = min(h, 1)
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(h))
}

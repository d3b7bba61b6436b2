package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/lbdns/lbdns/geo/geotest"
)

// Query set names, which are also the query files' base names.
const (
	setStatic   = "static"
	setNX       = "nxdomain"
	setGeo      = "lb-geo"
	setWeighted = "lb-weighted"
	setHash     = "lb-hash"
	setMixed    = "mixed"
)

// benchFiles are the generated inputs, all inside one temporary folder.
type benchFiles struct {
	dir      string
	zone     string            // RFC 1035 master file for benchOrigin
	geoip    string            // MaxMind City database
	services string            // services YAML
	queries  map[string]string // set name → dnsperf binary query file
	hits     []query           // every name/type pair in the zone with data
}

// prepareFiles writes the zone, GeoIP database, services and query files
// into dir. A fixed seed makes every run of the benchmark send the same
// queries, so runs on different days compare.
func prepareFiles(dir string, cfg config) (benchFiles, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := benchFiles{
		dir:      dir,
		zone:     filepath.Join(dir, "bench.example.zone"),
		geoip:    filepath.Join(dir, "city.mmdb"),
		services: filepath.Join(dir, "services.yaml"),
		queries:  map[string]string{},
	}
	text, hits := benchZone(cfg.names)
	f.hits = hits
	if err := os.WriteFile(f.zone, []byte(text), 0o644); err != nil {
		return f, err
	}
	if err := geotest.WriteCityDB(f.geoip, geoPlaces()); err != nil {
		return f, err
	}
	svc, err := benchServices()
	if err != nil {
		return f, fmt.Errorf("services: %w", err)
	}
	if err := os.WriteFile(f.services, svc, 0o644); err != nil {
		return f, err
	}
	return f, f.writeQuerySets(rng, cfg)
}

// writeQuerySets makes every query set and writes each to its file.
func (f *benchFiles) writeQuerySets(rng *rand.Rand, cfg config) error {
	n := cfg.queriesPerFile
	clients := clientPrefixes(rng, cfg.prefixes)
	sets := map[string][]query{
		setStatic:   staticQueries(rng, f.hits, n),
		setNX:       nxQueries(rng, n),
		setGeo:      lbQueries(rng, geoName, clients, n),
		setWeighted: lbQueries(rng, weightedName, clients, n),
		setHash:     lbQueries(rng, hashName, clients, n),
	}
	sets[setMixed] = mixedQueries(rng, sets[setStatic], sets[setNX],
		[][]query{sets[setGeo], sets[setWeighted], sets[setHash]}, n)
	for name, qs := range sets {
		path := filepath.Join(f.dir, name+".bin")
		if err := writeQueryFile(path, qs); err != nil {
			return fmt.Errorf("query file %s: %w", name, err)
		}
		f.queries[name] = path
	}
	return nil
}

package geo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is a MaxMind-format City database (GeoIP2/GeoLite2 City, or a
// compatible one such as DB-IP City Lite) that picks up a replaced file
// without a restart. Lookups read the current database through an
// atomic.Pointer and never block; Reload and Watch build a new reader off to
// the side and swap it in only once it has been verified, so a bad file
// leaves the old one serving.
//
// Create one with Open. A nil *DB is valid and knows nothing, so a server
// without a GeoIP file can run the same code path.
type DB struct {
	path   string
	logger *slog.Logger
	cur    atomic.Pointer[reader]

	mu       sync.Mutex // serializes Reload, Watch polling and Close; never taken by Lookup
	attempt  fileID     // identity of the file last loaded or tried, so Watch tries each version once
	closed   bool
	stop     chan struct{} // closed by Close to end Watch loops
	watchers sync.WaitGroup
}

// reader is one loaded database. It is immutable once published, apart from
// its record cache, which is safe for concurrent use.
type reader struct {
	mm    *maxminddb.Reader
	city  *geoip2.Reader // the full City model, for Describe (off the query path)
	cache recordCache
}

// Open loads the City database at path. A nil logger means slog.Default().
// The error names the path when the file is missing, unreadable, not a
// MaxMind DB, corrupt, or not a City-type database.
//
// The file is read into memory rather than memory-mapped: a database
// replaced by rewriting the file in place (cp over it) would otherwise change
// or truncate pages under concurrent lookups and crash the server with
// SIGBUS. The cost is holding a second copy briefly during a reload.
func Open(path string, logger *slog.Logger) (*DB, error) {
	if logger == nil {
		logger = slog.Default()
	}
	d := &DB{path: path, logger: logger, stop: make(chan struct{})}
	r, id, err := load(path)
	d.attempt = id
	if err != nil {
		return nil, err
	}
	d.cur.Store(r)
	return d, nil
}

// load reads, parses and verifies the database at path. It returns the
// identity of the file it read (or tried to), taken from the open file so
// that it matches the bytes read even if the path is replaced meanwhile.
func load(path string) (*reader, fileID, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("geo: open GeoIP database: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileID{}, fmt.Errorf("geo: GeoIP database %s: %w", path, err)
	}
	id := fileIDOf(fi)
	if !fi.Mode().IsRegular() {
		return nil, id, fmt.Errorf("geo: GeoIP database %s: not a regular file", path)
	}
	// Read exactly the size stat reported; a file still being written in
	// place shows up as a short read or trailing bytes and is refused, and
	// Watch tries again when the file changes again.
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, id, fmt.Errorf("geo: read GeoIP database %s: %w", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, id, fmt.Errorf("geo: read GeoIP database %s: file grew while being read", path)
	}
	mm, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, id, fmt.Errorf("geo: %s is not a MaxMind DB: %w", path, err)
	}
	if t := mm.Metadata.DatabaseType; !cityLike(t) {
		return nil, id, fmt.Errorf("geo: %s is a %q database, not a City database", path, t)
	}
	// Verify walks the whole tree and data section: about 0.1 s per 400k
	// tree nodes here, so around a second for a full GeoLite2-City, spent
	// off the query path. It turns a damaged file into a refused reload
	// instead of lookup errors later.
	if err := mm.Verify(); err != nil {
		return nil, id, fmt.Errorf("geo: %s is a corrupt MaxMind DB: %w", path, err)
	}
	city, err := geoip2.OpenBytes(buf)
	if err != nil {
		return nil, id, fmt.Errorf("geo: %s: %w", path, err)
	}
	return &reader{mm: mm, city: city}, id, nil
}

// cityLike reports whether a database type carries City-layout records
// (location, country, continent): the MaxMind and DB-IP City, Country and
// Enterprise families. Anything else, an ASN or anonymous-IP database, would
// load fine and answer nothing, so it is refused up front.
func cityLike(dbType string) bool {
	for _, s := range []string{"City", "Country", "Enterprise", "DBIP-Location"} {
		if strings.Contains(dbType, s) {
			return true
		}
	}
	return false
}

// Lookup returns the location of addr and the mmdb network that determined
// it: every address in network has the same record, which makes the network
// the "decided" prefix for PrefixMap.Scope. ok is false when the database
// has no record for addr, or one that says nothing usable (no coordinates,
// country or continent); network is then the empty network the tree lookup
// ended in, which is equally uniform. When the reader cannot say (a nil or
// closed DB, a damaged record), network is addr's full-length prefix.
//
// IPv4-mapped IPv6 addresses are looked up, and their network reported, as
// IPv4. Lookup takes no locks, and allocates only when it decodes a record
// that its cache does not hold.
func (d *DB) Lookup(addr netip.Addr) (loc Location, network netip.Prefix, ok bool) {
	a := normalize(addr)
	if d == nil || !a.IsValid() {
		return Location{}, hostPrefix(a), false
	}
	r := d.cur.Load()
	if r == nil {
		return Location{}, hostPrefix(a), false
	}
	return r.lookup(a)
}

func (r *reader) lookup(a netip.Addr) (Location, netip.Prefix, bool) {
	res := r.mm.Lookup(a)
	if res.Err() != nil {
		return Location{}, hostPrefix(a), false
	}
	network := resultNetwork(a, res.Prefix())
	if !res.Found() {
		return Location{}, network, false
	}
	off := res.Offset()
	slot := r.cache.slot(off)
	if e := slot.Load(); e != nil && e.offset == off {
		return e.loc, network, e.loc.Known()
	}
	e := &cacheEntry{offset: off}
	if err := res.Decode(&e.cityRecord); err != nil {
		return Location{}, hostPrefix(a), false
	}
	slot.Store(e)
	return e.loc, network, e.loc.Known()
}

// resultNetwork checks the reader's network against the address it was
// asked about. An IPv4 lookup in an IPv6 tree that ends above the IPv4
// subtree (because no IPv4 data exists) comes back as an IPv6 prefix of
// "::"; every IPv4 address then shares that record, so the honest IPv4
// network is 0.0.0.0/0. Anything else that does not contain a is not
// trusted and replaced by a's full prefix.
func resultNetwork(a netip.Addr, p netip.Prefix) netip.Prefix {
	if p.Contains(a) {
		return p
	}
	if a.Is4() && p.IsValid() && p.Addr().Is6() && p.Bits() <= 96 && p.Addr() == netip.IPv6Unspecified() {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return hostPrefix(a)
}

// Reload re-reads the database file now and swaps it in. On error the
// database that was serving keeps serving. Lookups already running finish
// on the reader they started with; the old reader's memory is released by
// the garbage collector once they have.
func (d *DB) Reload() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reloadLocked()
}

func (d *DB) reloadLocked() error {
	if d.closed {
		return errors.New("geo: reload of a closed GeoIP database")
	}
	r, id, err := load(d.path)
	d.attempt = id
	if err != nil {
		return err
	}
	d.cur.Store(r)
	return nil
}

// Close stops Watch loops and makes further lookups answer as a nil DB
// would. The database memory is not unmapped or freed eagerly, since a
// lookup may still be reading it; it goes to the garbage collector.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		if d.stop != nil {
			close(d.stop)
		}
	}
	d.mu.Unlock()
	d.watchers.Wait()
	d.cur.Store(nil)
	return nil
}

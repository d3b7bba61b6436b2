package geo

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbdns/lbdns/geo/geotest"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeTyped writes a tiny database of another type, for "not a City
// database" cases.
func writeTyped(t testing.TB, dir, dbType string) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR("198.18.0.0/16")
	if err := tree.Insert(n, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// replace puts a new file at path the way geoipupdate does: write a temp
// file beside it, then rename it over.
func replace(t testing.TB, path string, write func(tmp string) error) {
	t.Helper()
	tmp := path + ".tmp"
	if err := write(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func replaceBytes(t testing.TB, path string, data []byte) {
	replace(t, path, func(tmp string) error { return os.WriteFile(tmp, data, 0o644) })
}

// syncBuffer is a log sink the watcher goroutine can write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond for up to a few watch intervals.
func eventually(t *testing.T, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * every)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(every / 4)
	}
}

const watchEvery = 100 * time.Millisecond

// startWatched opens a database of places and watches it.
func startWatched(t *testing.T, places []geotest.Place) (*DB, string, *syncBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, places); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	db, err := Open(path, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Watch(t.Context(), watchEvery)
	return db, path, logs
}

func TestWatchPicksUpReplacement(t *testing.T) {
	db, path, logs := startWatched(t, geotest.Places)
	a := geotest.Frankfurt.Addr()
	if loc, _, _ := db.Lookup(a); loc.Country != "DE" {
		t.Fatalf("before: country %q", loc.Country)
	}
	// Frankfurt's network moves to Tokyo, and a new network appears.
	moved := geotest.Tokyo
	moved.Network = geotest.Frankfurt.Network
	added := geotest.Sydney
	added.Network = pfx("198.19.200.0/24")
	replace(t, path, func(tmp string) error {
		return geotest.WriteCityDB(tmp, []geotest.Place{moved, added})
	})
	start := time.Now()
	eventually(t, watchEvery, "the replaced database", func() bool {
		loc, _, _ := db.Lookup(a)
		return loc.Country == "JP"
	})
	if took := time.Since(start); took > 3*watchEvery {
		t.Errorf("reload took %v, want within a couple of %v intervals", took, watchEvery)
	}
	if loc, _, ok := db.Lookup(geotest.UnknownV4); !ok || loc.Country != "AU" {
		t.Errorf("new network: (%+v, %v)", loc, ok)
	}
	if _, _, ok := db.Lookup(geotest.Paris.Addr()); ok {
		t.Error("network dropped from the new file still answers")
	}
	// The log line follows the swap, so it may lag the lookup a little.
	eventually(t, watchEvery, "the reload to be logged", func() bool {
		return strings.Contains(logs.String(), "reloaded")
	})
}

func TestWatchInPlaceRewrite(t *testing.T) {
	db, path, _ := startWatched(t, geotest.Places)
	moved := geotest.SaoPaulo
	moved.Network = geotest.Frankfurt.Network
	// cp over the live file: same inode, new size and mtime.
	if err := geotest.WriteCityDB(path, []geotest.Place{moved}); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchEvery, "the rewritten database", func() bool {
		loc, _, _ := db.Lookup(geotest.Frankfurt.Addr())
		return loc.Country == "BR"
	})
}

// TestWatchKeepsServingOnBadReplacement replaces the file with broken ones;
// each is refused and logged once, the old database keeps answering, and a
// good file afterwards is still picked up.
func TestWatchKeepsServingOnBadReplacement(t *testing.T) {
	good, err := os.ReadFile(func() string {
		p := filepath.Join(t.TempDir(), "good.mmdb")
		if err := geotest.WriteCityDB(p, geotest.Places); err != nil {
			t.Fatal(err)
		}
		return p
	}())
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	// Damage the search tree (the start of the file): node records then
	// point outside the tree and data section, which Verify rejects.
	for i := 0; i < 64 && i < len(flipped); i++ {
		flipped[i] ^= 0xff
	}
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"garbage", []byte("not a database at all"), "not a MaxMind DB"},
		{"empty", nil, "not a MaxMind DB"},
		{"truncated", good[:len(good)-200], "not a MaxMind DB"},
		{"damaged tree", flipped, "corrupt"},
	}
	db, path, logs := startWatched(t, geotest.Places)
	wantLoc := placeLocation(geotest.Tokyo)
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before := strings.Count(logs.String(), "reload failed")
			replaceBytes(t, path, tt.data)
			eventually(t, watchEvery, "the failed reload to be logged", func() bool {
				return strings.Count(logs.String(), "reload failed") > before
			})
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log does not say %q: %s", tt.want, logs)
			}
			if loc, _, ok := db.Lookup(geotest.Tokyo.Addr()); !ok || loc != wantLoc {
				t.Errorf("old database stopped serving: (%+v, %v)", loc, ok)
			}
			// Once refused, the same bad file is not retried every interval.
			time.Sleep(3 * watchEvery)
			if n := strings.Count(logs.String(), "reload failed"); n != before+1 {
				t.Errorf("bad file logged %d times, want once", n-before)
			}
		})
	}
	// A wrong-type database is refused too.
	typed := writeTyped(t, t.TempDir(), "GeoLite2-ASN")
	if err := os.Rename(typed, path); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchEvery, "the wrong-type database to be refused", func() bool {
		return strings.Contains(logs.String(), "not a City database")
	})
	// A missing file is reported once and changes nothing.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually(t, watchEvery, "the missing file to be logged", func() bool {
		return strings.Contains(logs.String(), "cannot stat")
	})
	if loc, _, ok := db.Lookup(geotest.Tokyo.Addr()); !ok || loc != wantLoc {
		t.Errorf("old database stopped serving: (%+v, %v)", loc, ok)
	}
	// Recovery.
	moved := geotest.Sydney
	moved.Network = geotest.Tokyo.Network
	replace(t, path, func(tmp string) error { return geotest.WriteCityDB(tmp, []geotest.Place{moved}) })
	eventually(t, watchEvery, "the good database after bad ones", func() bool {
		loc, _, _ := db.Lookup(geotest.Tokyo.Addr())
		return loc.Country == "AU"
	})
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, geotest.Places); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	replaceBytes(t, path, []byte("junk"))
	if err := db.Reload(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Reload of junk = %v, want an error naming %s", err, path)
	}
	if loc, _, ok := db.Lookup(geotest.Paris.Addr()); !ok || loc.Country != "FR" {
		t.Errorf("after failed Reload: (%+v, %v)", loc, ok)
	}
	replace(t, path, func(tmp string) error { return geotest.WriteCityDB(tmp, nil) })
	if err := db.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := db.Lookup(geotest.Paris.Addr()); ok {
		t.Error("Reload did not swap in the empty database")
	}
}

// TestLookupDuringReloads runs lookups on several goroutines while the file
// is replaced and reloaded, for the race detector.
func TestLookupDuringReloads(t *testing.T) {
	db, path, _ := startWatched(t, geotest.Places)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				for _, p := range geotest.Places {
					if loc, network, ok := db.Lookup(p.Addr()); ok && !network.Contains(p.Addr()) {
						t.Errorf("Lookup(%s) network %s, loc %+v", p.Addr(), network, loc)
					}
				}
			}
		})
	}
	for i := range 5 {
		places := geotest.Places[:len(geotest.Places)-i]
		replace(t, path, func(tmp string) error { return geotest.WriteCityDB(tmp, places) })
		if err := db.Reload(); err != nil {
			t.Error(err)
		}
		time.Sleep(watchEvery)
	}
	cancel()
	wg.Wait()
}

func TestWatchStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(path, geotest.Places); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	db.Watch(ctx, watchEvery)
	db.Watch(t.Context(), watchEvery)
	cancel()
	// Close returns only once every watcher has stopped, and a Watch after
	// Close starts nothing.
	done := make(chan struct{})
	go func() { db.Close(); db.Watch(t.Context(), watchEvery); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the watchers")
	}
}

func TestFileIDSame(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) fileID {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fileIDOf(fi)
	}
	first := stat(a)
	if !first.same(stat(a)) {
		t.Error("same file, unchanged, differs")
	}
	if first.same(fileID{}) || !(fileID{}).same(fileID{}) {
		t.Error("zero fileID comparison")
	}
	if err := os.WriteFile(a, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if first.same(stat(a)) {
		t.Error("size change not noticed")
	}
	second := stat(a)
	if err := os.Chtimes(a, time.Time{}, second.mtime.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if second.same(stat(a)) {
		t.Error("mtime change not noticed")
	}
	third := stat(a)
	b := filepath.Join(dir, "b")
	if err := os.WriteFile(b, []byte("three"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(b, time.Time{}, third.mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(b, a); err != nil {
		t.Fatal(err)
	}
	if third.same(stat(a)) {
		t.Error("inode change not noticed")
	}
}

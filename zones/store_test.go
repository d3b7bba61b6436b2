package zones

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

func TestOpenReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lbdns.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q", s.Path())
	}
	createExample(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.ShowZone(context.Background(), "example.com"); err != nil {
		t.Errorf("zone lost across reopen: %v", err)
	}
}

// TestOpenLocked relies on flock being per open file description, so a
// second Open conflicts even inside one process.
func TestOpenLocked(t *testing.T) {
	s := openTemp(t)
	_, err := Open(s.Path())
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), s.Path()) {
		t.Errorf("error %q does not name the file", err)
	}
	s.Close()
	s2, err := Open(s.Path())
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"short garbage", writeFile([]byte("this is not a database\n")), "not a valid lbdns database"},
		{"page of garbage", writeFile(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 4096)), "not a valid lbdns database"},
		{"foreign bbolt", bboltWith(func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucket([]byte("other"))
			return err
		}), "not an lbdns database"},
		{"future schema", bboltWith(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			return b.Put(keySchema, []byte("99"))
		}), "unsupported schema version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "lbdns.db")
			tt.setup(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q should name %s and say %q", err, path, tt.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("Open modified the file")
			}
		})
	}
}

func writeFile(data []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func bboltWith(fn func(tx *bbolt.Tx) error) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		db, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
}

func TestCreateZone(t *testing.T) {
	s := openTemp(t)
	info, err := s.CreateZone(context.Background(), exampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	want := ZoneInfo{Origin: "example.com.", Serial: fixedSerial, Records: 4,
		NS: []string{"ns.other.net.", "ns1.example.com."}, Email: "host.master@example.com"}
	if !equalInfo(info, want) {
		t.Errorf("info = %+v, want %+v", info, want)
	}
	got := mustExport(t, s, "example.com.")
	const wantText = "$ORIGIN example.com.\n" +
		"example.com.\t3600\tIN\tSOA\tns1.example.com. host\\.master.example.com. 2026031400 3600 600 1209600 300\n" +
		"example.com.\t3600\tIN\tNS\tns.other.net.\n" +
		"example.com.\t3600\tIN\tNS\tns1.example.com.\n" +
		"ns1.example.com.\t3600\tIN\tA\t192.0.2.53\n"
	if got != wantText {
		t.Errorf("export:\n%s\nwant:\n%s", got, wantText)
	}
	_, err = s.CreateZone(context.Background(), exampleSpec())
	wantErr(t, err, KindExists, "")
}

func equalInfo(a, b ZoneInfo) bool {
	return a.Origin == b.Origin && a.Serial == b.Serial && a.Records == b.Records &&
		a.Email == b.Email && strings.Join(a.NS, ",") == strings.Join(b.NS, ",")
}

func TestCreateZoneValidation(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*ZoneSpec)
		kind  Kind
		field string
	}{
		{"ok", func(*ZoneSpec) {}, "", ""},
		{"ipv6 glue", func(z *ZoneSpec) { z.NS[0].Addr = "2001:db8::53" }, "", ""},
		{"ns at apex with glue", func(z *ZoneSpec) { z.NS = []NameServer{{Host: "example.com", Addr: "192.0.2.1"}} }, "", ""},
		{"ttl max", func(z *ZoneSpec) { z.TTL = maxTTL }, "", ""},
		{"ttl too large", func(z *ZoneSpec) { z.TTL = maxTTL + 1 }, KindInvalid, "ttl"},
		{"bad origin", func(z *ZoneSpec) { z.Origin = "a..com" }, KindInvalid, "name"},
		{"empty origin", func(z *ZoneSpec) { z.Origin = "" }, KindInvalid, "name"},
		{"no ns", func(z *ZoneSpec) { z.NS = nil }, KindInvalid, "ns"},
		{"bad ns host", func(z *ZoneSpec) { z.NS[1].Host = "ns..net" }, KindInvalid, "ns"},
		{"duplicate ns", func(z *ZoneSpec) { z.NS[1].Host = "NS1.example.com." }, KindInvalid, "ns"},
		{"in-zone ns without glue", func(z *ZoneSpec) { z.NS[0].Addr = "" }, KindInvalid, "ns"},
		{"out-of-zone ns with glue", func(z *ZoneSpec) { z.NS[1].Addr = "192.0.2.9" }, KindInvalid, "ns"},
		{"bad glue", func(z *ZoneSpec) { z.NS[0].Addr = "192.0.2.300" }, KindInvalid, "ns"},
		{"no email", func(z *ZoneSpec) { z.Email = "" }, KindInvalid, "email"},
		{"email without @", func(z *ZoneSpec) { z.Email = "hostmaster.example.com" }, KindInvalid, "email"},
		{"email bad local", func(z *ZoneSpec) { z.Email = "a b@example.com" }, KindInvalid, "email"},
		{"email bad domain", func(z *ZoneSpec) { z.Email = "a@exa..mple.com" }, KindInvalid, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			spec := exampleSpec()
			tt.edit(&spec)
			_, err := s.CreateZone(context.Background(), spec)
			wantErr(t, err, tt.kind, tt.field)
			zs, _ := s.ListZones(context.Background())
			if tt.kind != "" && len(zs) != 0 {
				t.Errorf("failed create left zones behind: %+v", zs)
			}
		})
	}
}

// TestSerialBumps checks that every committed command moves the serial
// by exactly one.
func TestSerialBumps(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	createExample(t, s)
	www := Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"}
	steps := []struct {
		name string
		do   func() (ZoneInfo, error)
	}{
		{"add", func() (ZoneInfo, error) { return s.AddRecord(ctx, www) }},
		{"add to set with new TTL", func() (ZoneInfo, error) {
			return s.AddRecord(ctx, Record{Name: "www.example.com", Type: "A", TTL: 60, Data: "192.0.2.2"})
		}},
		{"delete one", func() (ZoneInfo, error) { return s.DeleteRecord(ctx, www) }},
		{"delete set", func() (ZoneInfo, error) {
			return s.DeleteRecord(ctx, Record{Name: "www.example.com", Type: "A"})
		}},
		{"import", func() (ZoneInfo, error) {
			return s.ImportZone(ctx, "example.com", "f", mustExport(t, s, "example.com"))
		}},
	}
	serial := uint32(fixedSerial)
	for _, st := range steps {
		info, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if info.Serial != serial+1 {
			t.Fatalf("%s: serial %d, want %d", st.name, info.Serial, serial+1)
		}
		serial = info.Serial
	}
}

func TestImportZoneSerial(t *testing.T) {
	tests := []struct {
		name     string
		existing bool
		old      uint32
		file     uint32
		want     uint32
	}{
		{"new zone keeps file serial", false, 0, 7, 7},
		{"newer file serial wins", true, 10, 50, 50},
		{"older file serial bumps old", true, 10, 5, 11},
		{"equal file serial bumps old", true, 10, 10, 11},
		{"next serial", true, 10, 11, 11},
		{"wraps skipping zero", true, 4294967295, 3, 3},
		{"wrap without newer file", true, 4294967295, 4294967295, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			ctx := context.Background()
			if tt.existing {
				if _, err := s.ImportZone(ctx, "example.com", "old", soaZone(tt.old)); err != nil {
					t.Fatal(err)
				}
			}
			info, err := s.ImportZone(ctx, "example.com", "new", soaZone(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if info.Serial != tt.want {
				t.Errorf("serial %d, want %d", info.Serial, tt.want)
			}
		})
	}
}

func soaZone(serial uint32) string {
	return "$TTL 300\n@ SOA ns1.example.net. hm.example.com. " +
		strconv.FormatUint(uint64(serial), 10) + " 1 2 3 4\n@ NS ns1.example.net.\n"
}

func TestHeldWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "held.db")
	if Held(path) {
		t.Fatal("a missing file reported held")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !Held(path) {
		t.Fatal("an open database not reported held")
	}
	s.Close()
	if Held(path) {
		t.Fatal("a closed database reported held")
	}
}

// TestRecreatedZoneSerialMovesForward: a zone deleted and created again
// (or imported) the same day starts after its old serial, so secondaries
// take it as newer.
func TestRecreatedZoneSerialMovesForward(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	createExample(t, s)
	var last uint32
	for i := range 5 {
		info := mustAdd(t, s, Record{Name: fmt.Sprintf("h%d.example.com", i), Type: "A", TTL: 300, Data: "192.0.2.1"})
		last = info.Serial
	}
	if err := s.DeleteZone(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	info, err := s.CreateZone(ctx, exampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !serialLess(last, info.Serial) {
		t.Fatalf("re-created zone serial %d, not after the deleted zone's %d", info.Serial, last)
	}
	last = info.Serial
	if err := s.DeleteZone(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	text := "$ORIGIN example.com.\n@ 3600 IN SOA ns1 h 1 3600 600 1209600 300\n@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53\n"
	info, err = s.ImportZone(ctx, "example.com", "x.zone", text)
	if err != nil {
		t.Fatal(err)
	}
	if !serialLess(last, info.Serial) {
		t.Fatalf("re-imported zone serial %d, not after the deleted zone's %d", info.Serial, last)
	}
}

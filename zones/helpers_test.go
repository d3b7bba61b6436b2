package zones

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// fixedNow is the clock every test store uses, so serials are predictable.
var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const fixedSerial = 2026031400

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "lbdns.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.now = func() time.Time { return fixedNow }
	t.Cleanup(func() { s.Close() })
	return s
}

// exampleSpec is a zone with one in-zone (glued) and one external NS.
func exampleSpec() ZoneSpec {
	return ZoneSpec{
		Origin: "Example.COM",
		NS:     []NameServer{{Host: "ns1.example.com", Addr: "192.0.2.53"}, {Host: "ns.other.net."}},
		Email:  "host.master@example.com",
	}
}

func createExample(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.CreateZone(context.Background(), exampleSpec()); err != nil {
		t.Fatalf("CreateZone: %v", err)
	}
}

func mustAdd(t *testing.T, s *Store, r Record) ZoneInfo {
	t.Helper()
	info, err := s.AddRecord(context.Background(), r)
	if err != nil {
		t.Fatalf("AddRecord(%+v): %v", r, err)
	}
	return info
}

func mustExport(t *testing.T, s *Store, origin string) string {
	t.Helper()
	text, err := s.ExportZone(context.Background(), origin)
	if err != nil {
		t.Fatalf("ExportZone: %v", err)
	}
	return text
}

// wantErr checks err's Kind and Field; kind "" means no error.
func wantErr(t *testing.T, err error, kind Kind, field string) {
	t.Helper()
	if kind == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want *Error kind %s", err, err, kind)
	}
	if e.Kind != kind || e.Field != field {
		t.Fatalf("got kind %q field %q (%v), want kind %q field %q", e.Kind, e.Field, err, kind, field)
	}
}

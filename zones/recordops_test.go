package zones

import (
	"context"
	"strings"
	"testing"
)

func TestAddRecord(t *testing.T) {
	seed := []Record{
		{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"},
		{Name: "alias.example.com", Type: "CNAME", TTL: 300, Data: "www.example.com."},
	}
	tests := []struct {
		name  string
		rec   Record
		kind  Kind
		field string
		msg   string
	}{
		{"new name", Record{Name: "mail.example.com", Type: "MX", TTL: 300, Data: "10 mx.example.net."}, "", "", ""},
		{"second A", Record{Name: "WWW.example.com.", Type: "a", TTL: 300, Data: "192.0.2.2"}, "", "", ""},
		{"duplicate", Record{Name: "WWW.Example.com", Type: "A", TTL: 60, Data: "192.0.2.1"}, KindExists, "", "already exists"},
		{"cname onto data", Record{Name: "www.example.com", Type: "CNAME", TTL: 300, Data: "x.example.net."}, KindInvalid, "type", "cannot coexist"},
		{"data onto cname", Record{Name: "alias.example.com", Type: "TXT", TTL: 300, Data: "hi"}, KindInvalid, "type", "is a CNAME"},
		{"second cname", Record{Name: "alias.example.com", Type: "CNAME", TTL: 300, Data: "other.example.com."}, KindInvalid, "type", "only one"},
		{"same cname", Record{Name: "alias.example.com", Type: "CNAME", TTL: 9, Data: "WWW.example.com."}, KindExists, "", "already exists"},
		{"cname at apex", Record{Name: "example.com", Type: "CNAME", TTL: 300, Data: "x.example.net."}, KindInvalid, "type", "cannot coexist"},
		{"no zone", Record{Name: "www.example.org", Type: "A", TTL: 300, Data: "192.0.2.1"}, KindNotFound, "", "no zone contains www.example.org."},
		{"soa", Record{Name: "example.com", Type: "SOA", TTL: 300, Data: "a. b. 1 2 3 4 5"}, KindInvalid, "type", "zone create or zone import"},
		{"bad data", Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "nope"}, KindInvalid, "data", `"nope"`},
		{"bad ttl", Record{Name: "x.example.com", Type: "A", TTL: maxTTL + 1, Data: "192.0.2.1"}, KindInvalid, "ttl", ""},
		{"bad name", Record{Name: "x..example.com", Type: "A", TTL: 1, Data: "192.0.2.1"}, KindInvalid, "name", "empty label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			createExample(t, s)
			for _, r := range seed {
				mustAdd(t, s, r)
			}
			_, err := s.AddRecord(context.Background(), tt.rec)
			wantErr(t, err, tt.kind, tt.field)
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// TestAddRecordRetunesRRset checks RFC 2181 §5.2: the RRset takes the
// TTL of the newest record.
func TestAddRecordRetunesRRset(t *testing.T) {
	s := openTemp(t)
	createExample(t, s)
	mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"})
	mustAdd(t, s, Record{Name: "www.example.com", Type: "AAAA", TTL: 300, Data: "2001:db8::1"})
	mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 60, Data: "192.0.2.2"})
	recs, err := s.ListRecords(context.Background(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	ttls := map[string]uint32{}
	for _, r := range recs {
		if r.Name == "www.example.com." {
			ttls[r.Type+" "+r.Data] = r.TTL
		}
	}
	want := map[string]uint32{"A 192.0.2.1": 60, "A 192.0.2.2": 60, "AAAA 2001:db8::1": 300}
	for k, v := range want {
		if ttls[k] != v {
			t.Errorf("%s TTL %d, want %d (all: %v)", k, ttls[k], v, ttls)
		}
	}
}

// TestLongestMatch checks that a record goes to the most specific zone.
func TestLongestMatch(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	createExample(t, s)
	sub := ZoneSpec{Origin: "sub.example.com", NS: []NameServer{{Host: "ns.other.net"}}, Email: "a@example.com"}
	if _, err := s.CreateZone(ctx, sub); err != nil {
		t.Fatal(err)
	}
	info := mustAdd(t, s, Record{Name: "www.sub.example.com", Type: "A", TTL: 1, Data: "192.0.2.1"})
	if info.Origin != "sub.example.com." || info.Records != 3 {
		t.Errorf("added to %+v, want sub.example.com. with 3 records", info)
	}
	info = mustAdd(t, s, Record{Name: "xsub.example.com", Type: "A", TTL: 1, Data: "192.0.2.1"})
	if info.Origin != "example.com." {
		t.Errorf("xsub.example.com. added to %s", info.Origin)
	}
}

func TestDeleteRecord(t *testing.T) {
	seed := []Record{
		{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"},
		{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.2"},
		{Name: "www.example.com", Type: "TXT", TTL: 300, Data: `"Hello World"`},
		{Name: "alias.example.com", Type: "CNAME", TTL: 300, Data: "Www.Example.com."},
	}
	tests := []struct {
		name    string
		rec     Record
		kind    Kind
		field   string
		removed int
	}{
		{"one record", Record{Name: "WWW.example.com", Type: "A", Data: "192.0.2.1"}, "", "", 1},
		{"whole set", Record{Name: "www.example.com", Type: "A"}, "", "", 2},
		{"rdata names case-insensitive", Record{Name: "alias.example.com", Type: "CNAME", Data: "www.example.COM."}, "", "", 1},
		{"txt is case-sensitive", Record{Name: "www.example.com", Type: "TXT", Data: `"hello world"`}, KindNotFound, "", 0},
		{"missing record", Record{Name: "www.example.com", Type: "A", Data: "192.0.2.9"}, KindNotFound, "", 0},
		{"missing set", Record{Name: "www.example.com", Type: "MX"}, KindNotFound, "", 0},
		{"no zone", Record{Name: "www.example.org", Type: "A"}, KindNotFound, "", 0},
		{"apex soa", Record{Name: "example.com", Type: "SOA"}, KindInvalid, "type", 0},
		{"one apex ns", Record{Name: "example.com", Type: "NS", Data: "ns.other.net."}, "", "", 1},
		{"all apex ns", Record{Name: "example.com", Type: "NS"}, KindInvalid, "type", 0},
		{"bad type", Record{Name: "www.example.com", Type: "BOGUS"}, KindInvalid, "type", 0},
		{"bad data", Record{Name: "www.example.com", Type: "A", Data: "1.2.3"}, KindInvalid, "data", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			createExample(t, s)
			var before ZoneInfo
			for _, r := range seed {
				before = mustAdd(t, s, r)
			}
			info, err := s.DeleteRecord(context.Background(), tt.rec)
			wantErr(t, err, tt.kind, tt.field)
			if err == nil && info.Records != before.Records-tt.removed {
				t.Errorf("%d records left, want %d", info.Records, before.Records-tt.removed)
			}
		})
	}
}

// TestDeleteLastApexNS removes apex NS records one by one until only one
// is left, which must stay.
func TestDeleteLastApexNS(t *testing.T) {
	s := openTemp(t)
	createExample(t, s)
	ctx := context.Background()
	if _, err := s.DeleteRecord(ctx, Record{Name: "example.com", Type: "NS", Data: "ns1.example.com."}); err != nil {
		t.Fatal(err)
	}
	_, err := s.DeleteRecord(ctx, Record{Name: "example.com", Type: "NS", Data: "ns.other.net."})
	wantErr(t, err, KindInvalid, "type")
}

// TestFailedCallsWriteNothing runs one failing call of each kind and checks
// the zone, the serial and the change feed are untouched.
func TestFailedCallsWriteNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		kind Kind
		do   func(s *Store) error
	}{
		{"add exists", KindExists, func(s *Store) error {
			_, err := s.AddRecord(ctx, Record{Name: "www.example.com", Type: "A", TTL: 60, Data: "192.0.2.1"})
			return err
		}},
		{"add invalid", KindInvalid, func(s *Store) error {
			_, err := s.AddRecord(ctx, Record{Name: "www.example.com", Type: "CNAME", TTL: 60, Data: "x."})
			return err
		}},
		{"add not found", KindNotFound, func(s *Store) error {
			_, err := s.AddRecord(ctx, Record{Name: "www.example.org", Type: "A", TTL: 60, Data: "192.0.2.1"})
			return err
		}},
		{"delete not found", KindNotFound, func(s *Store) error {
			_, err := s.DeleteRecord(ctx, Record{Name: "www.example.com", Type: "A", Data: "192.0.2.99"})
			return err
		}},
		{"delete last ns", KindInvalid, func(s *Store) error {
			_, err := s.DeleteRecord(ctx, Record{Name: "example.com", Type: "NS"})
			return err
		}},
		{"create exists", KindExists, func(s *Store) error {
			_, err := s.CreateZone(ctx, exampleSpec())
			return err
		}},
		{"import malformed", KindInvalid, func(s *Store) error {
			_, err := s.ImportZone(ctx, "example.com", "f", "$TTL 1\n@ SOA a. b. 1 2 3 4 5\n@ NS a.\nx A 1.2.3\n")
			return err
		}},
		{"import without NS", KindInvalid, func(s *Store) error {
			_, err := s.ImportZone(ctx, "example.com", "f", "$TTL 1\n@ SOA a. b. 1 2 3 4 5\n")
			return err
		}},
		{"delete missing zone", KindNotFound, func(s *Store) error {
			return s.DeleteZone(ctx, "example.org")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			createExample(t, s)
			mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"})
			before := mustExport(t, s, "example.com")
			ch, stop := s.Watch()
			defer stop()
			err := tt.do(s)
			wantErr(t, err, tt.kind, errField(err))
			if after := mustExport(t, s, "example.com"); after != before {
				t.Errorf("zone changed:\n%s\n---\n%s", before, after)
			}
			select {
			case <-ch:
				t.Error("change feed signalled for a failed call")
			default:
			}
		})
	}
}

// errField returns err's Field, so wantErr can check the kind alone.
func errField(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Field
	}
	return ""
}

func TestZoneQueries(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	for _, o := range []string{"b.example", "a.example", "c.example"} {
		spec := ZoneSpec{Origin: o, NS: []NameServer{{Host: "ns.other.net"}}, Email: "hm@" + o}
		if _, err := s.CreateZone(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := s.ListZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range infos {
		got = append(got, i.Origin)
	}
	if strings.Join(got, " ") != "a.example. b.example. c.example." {
		t.Errorf("ListZones order: %v", got)
	}
	if err := s.DeleteZone(ctx, "B.example"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ShowZone(ctx, "b.example")
	wantErr(t, err, KindNotFound, "")
	_, err = s.LoadZone("b.example")
	wantErr(t, err, KindNotFound, "")
	_, err = s.ListRecords(ctx, "b.example")
	wantErr(t, err, KindNotFound, "")
	_, err = s.ExportZone(ctx, "b.example")
	wantErr(t, err, KindNotFound, "")
	zs, err := s.Zones()
	if err != nil || len(zs) != 2 || zs[0].Origin != "a.example." || zs[0].SOA() == nil || len(zs[1].Records) != 2 {
		t.Errorf("Zones() = %v, %v", zs, err)
	}
	z, err := s.LoadZone("C.EXAMPLE")
	if err != nil || z.Origin != "c.example." {
		t.Errorf("LoadZone = %v, %v", z, err)
	}
	info, err := s.ShowZone(ctx, "a.example")
	if err != nil || info.Email != "hm@a.example" || info.Records != 2 {
		t.Errorf("ShowZone = %+v, %v", info, err)
	}
}

func TestContextCancelled(t *testing.T) {
	s := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.CreateZone(ctx, exampleSpec()); err == nil {
		t.Fatal("CreateZone ignored a cancelled context")
	}
	if zs, _ := s.ListZones(context.Background()); len(zs) != 0 {
		t.Errorf("zones created: %v", zs)
	}
}

package zones

import (
	"context"
	"slices"
	"testing"
)

func TestChangesSince(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	start := s.Seq()
	createExample(t, s)
	mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.10"})
	if _, err := s.AddRecord(ctx, Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.300"}); err == nil {
		t.Fatal("bad record accepted")
	}
	if _, err := s.DeleteRecord(ctx, Record{Name: "www.example.com", Type: "A"}); err != nil {
		t.Fatal(err)
	}
	cs, last, ok := s.ChangesSince(start)
	if !ok || last != s.Seq() || len(cs) != 3 {
		t.Fatalf("ChangesSince: %d changes, ok %v, last %d (seq %d); want 3 (the failed add makes none)", len(cs), ok, last, s.Seq())
	}
	if !cs[0].Whole || cs[0].Zone != "example.com." {
		t.Errorf("zone create: %+v, want the whole zone", cs[0])
	}
	for _, c := range cs[1:] {
		if c.Whole || !slices.Equal(c.Names, []string{"www.example.com.", "example.com."}) {
			t.Errorf("record change: %+v, want the owner and the apex (its SOA)", c)
		}
	}
	if more, _, ok := s.ChangesSince(last); !ok || len(more) != 0 {
		t.Errorf("nothing after the last: got %v ok %v", more, ok)
	}
}

func TestChangesSinceTooOld(t *testing.T) {
	s := openTemp(t)
	createExample(t, s)
	for range changeLogSize + 10 {
		var ch changeSet
		ch.names("example.com.", "x.example.com.")
		s.log.append(&ch)
	}
	if _, _, ok := s.ChangesSince(0); ok {
		t.Fatal("a reader behind the log was not told to reload")
	}
	if cs, _, ok := s.ChangesSince(s.Seq() - 5); !ok || len(cs) != 5 {
		t.Fatalf("recent changes: %d, ok %v; want 5", len(cs), ok)
	}
}

func TestLoadNames(t *testing.T) {
	s := openTemp(t)
	createExample(t, s)
	mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 300, Data: "192.0.2.10"})
	mustAdd(t, s, Record{Name: "www.example.com", Type: "AAAA", TTL: 300, Data: "2001:db8::10"})
	got, err := s.LoadNames("example.com.", []string{"www.example.com.", "gone.example.com."})
	if err != nil {
		t.Fatal(err)
	}
	if len(got["www.example.com."]) != 2 || len(got["gone.example.com."]) != 0 {
		t.Fatalf("LoadNames: %v", got)
	}
}

package zones

import (
	"context"
	"testing"
	"time"
)

func TestWatchSignalsAfterWrites(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	ch, stop := s.Watch()
	other, stopOther := s.Watch()
	defer stopOther()

	writes := []struct {
		name string
		do   func() error
	}{
		{"create", func() error { _, err := s.CreateZone(ctx, exampleSpec()); return err }},
		{"add", func() error {
			_, err := s.AddRecord(ctx, Record{Name: "www.example.com", Type: "A", TTL: 1, Data: "192.0.2.1"})
			return err
		}},
		{"delete record", func() error {
			_, err := s.DeleteRecord(ctx, Record{Name: "www.example.com", Type: "A"})
			return err
		}},
		{"import", func() error {
			_, err := s.ImportZone(ctx, "example.com", "f", mustExport(t, s, "example.com"))
			return err
		}},
		{"delete zone", func() error { return s.DeleteZone(ctx, "example.com") }},
	}
	for _, w := range writes {
		if err := w.do(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatalf("%s: no signal", w.name)
		}
	}
	// The second subscriber never read: its signals coalesced into one.
	if n := drain(other); n != 1 {
		t.Errorf("idle subscriber holds %d signals, want 1", n)
	}
	stop()
	stop() // idempotent
	if _, err := s.CreateZone(ctx, exampleSpec()); err != nil {
		t.Fatal(err)
	}
	if n := drain(ch); n != 0 {
		t.Errorf("unsubscribed channel got %d signals", n)
	}
}

// TestWatchSeesCommittedData checks the signal comes after the commit: a
// reader woken by it must find the new record.
func TestWatchSeesCommittedData(t *testing.T) {
	s := openTemp(t)
	createExample(t, s)
	ch, stop := s.Watch()
	defer stop()
	done := make(chan int)
	go func() {
		<-ch
		z, err := s.LoadZone("example.com")
		if err != nil {
			done <- -1
			return
		}
		done <- len(z.Records)
	}()
	mustAdd(t, s, Record{Name: "www.example.com", Type: "A", TTL: 1, Data: "192.0.2.1"})
	if n := <-done; n != 5 {
		t.Errorf("reader woken by the feed saw %d records, want 5", n)
	}
}

func drain(ch <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

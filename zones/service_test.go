package zones

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const lbOrigin = "lb.example.com."

// openLB is a store holding the empty zone lb.example.com.
func openLB(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t)
	spec := ZoneSpec{
		Origin: "lb.example.com",
		NS:     []NameServer{{Host: "ns1.lb.example.com", Addr: "192.0.2.53"}},
		Email:  "hostmaster@example.com",
	}
	if _, err := s.CreateZone(context.Background(), spec); err != nil {
		t.Fatalf("CreateZone: %v", err)
	}
	return s
}

func mustApply(t *testing.T, s *Store, text string) []ServiceInfo {
	t.Helper()
	infos, err := s.ApplyServices(context.Background(), "svc.yaml", text)
	if err != nil {
		t.Fatalf("ApplyServices: %v", err)
	}
	return infos
}

func mustSetSite(t *testing.T, s *Store, service, site, state string) SiteState {
	t.Helper()
	st, err := s.SetSiteState(context.Background(), service, site, state)
	if err != nil {
		t.Fatalf("SetSiteState(%s, %s, %s): %v", service, site, state, err)
	}
	return st
}

func serialOf(t *testing.T, s *Store) uint32 {
	t.Helper()
	info, err := s.ShowZone(context.Background(), lbOrigin)
	if err != nil {
		t.Fatalf("ShowZone: %v", err)
	}
	return info.Serial
}

func mustList(t *testing.T, s *Store) []ServiceInfo {
	t.Helper()
	list, err := s.ListServices(context.Background())
	if err != nil {
		t.Fatalf("ListServices: %v", err)
	}
	return list
}

func mustServices(t *testing.T, s *Store) []StoredService {
	t.Helper()
	all, err := s.Services()
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	return all
}

// storeState is everything a refused call must leave untouched.
type storeState struct {
	List   []ServiceInfo
	Stored []StoredService
	Export string
	Serial uint32
}

func stateOf(t *testing.T, s *Store) storeState {
	t.Helper()
	return storeState{mustList(t, s), mustServices(t, s), mustExport(t, s, lbOrigin), serialOf(t, s)}
}

func wantSameState(t *testing.T, s *Store, before storeState) {
	t.Helper()
	if after := stateOf(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused call changed the store:\nbefore %s\nafter  %s", dump(t, before), dump(t, after))
	}
}

// noSignal fails if ch holds a change signal.
func noSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Errorf("%s: change feed signalled", what)
	default:
	}
}

func gotSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Errorf("%s: no change signal", what)
	}
}

func TestApplyServices(t *testing.T) {
	s := openLB(t)
	ctx := context.Background()
	before := mustExport(t, s, lbOrigin)
	serial := serialOf(t, s)
	ch, stop := s.Watch()
	defer stop()

	infos := mustApply(t, s, exampleServices)
	gotSignal(t, ch, "apply")
	want := []ServiceInfo{{Name: "www.lb.example.com.", Zone: lbOrigin, Policy: PolicyGeo, TTL: 20, Sites: strs("fra", "iad")}}
	if !reflect.DeepEqual(infos, want) {
		t.Errorf("ApplyServices = %s, want %s", dump(t, infos), dump(t, want))
	}
	if list := mustList(t, s); !reflect.DeepEqual(list, want) {
		t.Errorf("ListServices = %s, want %s", dump(t, list), dump(t, want))
	}
	all := mustServices(t, s)
	if len(all) != 1 || all[0].Zone != lbOrigin || all[0].Admin != nil || !reflect.DeepEqual(all[0].Service, exampleWant()) {
		t.Errorf("Services() = %s", dump(t, all))
	}
	svc, err := s.ShowService(ctx, "WWW.lb.Example.com")
	if err != nil {
		t.Fatalf("ShowService: %v", err)
	}
	if !reflect.DeepEqual(svc, exampleWant()) {
		t.Errorf("ShowService = %s, want %s", dump(t, svc), dump(t, exampleWant()))
	}
	if got := serialOf(t, s); !serialLess(serial, got) {
		t.Errorf("serial %d after apply, was %d", got, serial)
	}
	// A service is not a record: the zone's records are unchanged but for
	// the serial.
	after := mustExport(t, s, lbOrigin)
	if strings.Contains(after, "www.") {
		t.Errorf("apply wrote records into the zone:\n%s", after)
	}
	if n := strings.Count(before, "\n"); n != strings.Count(after, "\n") {
		t.Errorf("export changed from\n%s\nto\n%s", before, after)
	}

	// Services not in a later file stay.
	mustApply(t, s, minimalServices)
	if got := mustList(t, s); len(got) != 2 || got[0].Name != "api.lb.example.com." || got[1].Name != "www.lb.example.com." {
		t.Errorf("after a second file: %s", dump(t, got))
	}
}

func TestApplyServicesNestedZone(t *testing.T) {
	s := openLB(t)
	if _, err := s.CreateZone(context.Background(), ZoneSpec{
		Origin: "eu.lb.example.com", NS: []NameServer{{Host: "ns.example.net"}}, Email: "h@example.com",
	}); err != nil {
		t.Fatal(err)
	}
	infos := mustApply(t, s, `services:
  - name: www.eu.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
`)
	if infos[0].Zone != "eu.lb.example.com." {
		t.Errorf("zone = %q, want the longest match eu.lb.example.com.", infos[0].Zone)
	}
}

// TestApplyServicesRefusals checks store-level refusals point at the
// service's name line and write nothing: not the services, not the
// zone, not the serial, and no change signal.
func TestApplyServicesRefusals(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		field string
		msg   string
	}{
		{"name in no served zone", `services:
  - name: www.example.org #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "no served zone contains www.example.org."},
		{"name above the zone", `services:
  - name: example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "no served zone contains example.com."},
		{"name with an A record", `services:
  - name: Taken.lb.example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "taken.lb.example.com. already has A records"},
		{"zone apex", `services:
  - name: lb.example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "lb.example.com. already has NS records"},
		{"glue name", `services:
  - name: ns1.lb.example.com #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[0].name", "already has A records"},
		{"second service bad: first not written", `services:
  - name: new.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
  - name: other.example.org #<
    sites: [{name: fra, vips: [192.0.2.2]}]
`, "services[1].name", "no served zone"},
		{"second service bad: replacement not written", `services:
  - name: www.lb.example.com
    ttl: 99
    sites: [{name: ams, vips: [192.0.2.1]}]
  - name: taken.lb.example.com #<
    sites: [{name: fra, vips: [192.0.2.2]}]
`, "services[1].name", "already has A records"},
		{"invalid file", `services:
  - name: new.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
  - name: new2.lb.example.com
    ttl: 3601 #<
    sites: [{name: fra, vips: [192.0.2.1]}]
`, "services[1].ttl", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openLB(t)
			mustApply(t, s, exampleServices)
			mustSetSite(t, s, "www.lb.example.com", "iad", SiteDrained)
			mustAdd(t, s, Record{Name: "taken.lb.example.com", Type: "A", TTL: 300, Data: "192.0.2.7"})
			before := stateOf(t, s)
			ch, stop := s.Watch()
			defer stop()

			_, err := s.ApplyServices(context.Background(), "svc.yaml", tt.text)
			wantErr(t, err, KindInvalid, tt.field)
			var e *Error
			errors.As(err, &e)
			if line := markedLine(t, tt.text); e.Line != line || e.File != "svc.yaml" {
				t.Errorf("got %s:%d, want svc.yaml:%d (%v)", e.File, e.Line, line, err)
			}
			if !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Msg, tt.msg)
			}
			wantSameState(t, s, before)
			noSignal(t, ch, "refused apply")
		})
	}
}

func TestApplyServicesReplaces(t *testing.T) {
	s := openLB(t)
	mustApply(t, s, exampleServices)
	serial := serialOf(t, s)
	infos := mustApply(t, s, `services:
  - name: www.lb.example.com
    ttl: 60
    policy: failover
    sites:
      - {name: ams, vips: [192.0.2.1]}
`)
	want := []ServiceInfo{{Name: "www.lb.example.com.", Zone: lbOrigin, Policy: PolicyFailover, TTL: 60, Sites: strs("ams")}}
	if !reflect.DeepEqual(infos, want) {
		t.Errorf("ApplyServices = %s, want %s", dump(t, infos), dump(t, want))
	}
	if list := mustList(t, s); !reflect.DeepEqual(list, want) {
		t.Errorf("ListServices = %s, want %s", dump(t, list), dump(t, want))
	}
	svc, err := s.ShowService(context.Background(), "www.lb.example.com.")
	if err != nil {
		t.Fatal(err)
	}
	if svc.Health != nil || svc.Answers != 1 || len(svc.Sites) != 1 || svc.Sites[0].Location != nil {
		t.Errorf("replacement kept old fields: %s", dump(t, svc))
	}
	if got := serialOf(t, s); !serialLess(serial, got) {
		t.Errorf("serial %d after re-apply, was %d", got, serial)
	}
}

func TestServiceWritesBumpSerial(t *testing.T) {
	ctx := context.Background()
	s := openLB(t)
	steps := []struct {
		name string
		do   func() error
	}{
		{"apply", func() error { _, err := s.ApplyServices(ctx, "f", exampleServices); return err }},
		{"re-apply unchanged", func() error { _, err := s.ApplyServices(ctx, "f", exampleServices); return err }},
		{"drain", func() error { _, err := s.SetSiteState(ctx, "www.lb.example.com", "fra", SiteDrained); return err }},
		{"disable", func() error { _, err := s.SetSiteState(ctx, "www.lb.example.com", "fra", SiteDisabled); return err }},
		{"enable", func() error { _, err := s.SetSiteState(ctx, "www.lb.example.com", "fra", SiteEnabled); return err }},
		{"delete", func() error { return s.DeleteService(ctx, "www.lb.example.com") }},
	}
	ch, stop := s.Watch()
	defer stop()
	for _, st := range steps {
		before := serialOf(t, s)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if after := serialOf(t, s); !serialLess(before, after) {
			t.Errorf("%s: serial %d, was %d", st.name, after, before)
		}
		gotSignal(t, ch, st.name)
	}
}

func TestServiceNameHoldsNoRecords(t *testing.T) {
	ctx := context.Background()
	s := openLB(t)
	mustApply(t, s, exampleServices)
	before := stateOf(t, s)

	for _, r := range []Record{
		{Name: "www.lb.example.com", Type: "A", TTL: 300, Data: "192.0.2.1"},
		{Name: "WWW.LB.example.com.", Type: "TXT", TTL: 300, Data: "hello"},
		{Name: "www.lb.example.com", Type: "CNAME", TTL: 300, Data: "elsewhere.example.net."},
	} {
		_, err := s.AddRecord(ctx, r)
		wantErr(t, err, KindInvalid, "name")
		if err != nil && !strings.Contains(err.Error(), "load-balanced service") {
			t.Errorf("AddRecord %s: message %q", r.Type, err)
		}
	}
	wantSameState(t, s, before)

	text := before.Export + "www.lb.example.com. 300 IN A 192.0.2.1\n"
	_, err := s.ImportZone(ctx, lbOrigin, "z.txt", text)
	wantErr(t, err, KindInvalid, "name")
	wantSameState(t, s, before)

	// An import without records at the service's name is fine.
	if _, err := s.ImportZone(ctx, lbOrigin, "z.txt", before.Export+"api.lb.example.com. 300 IN A 192.0.2.1\n"); err != nil {
		t.Errorf("ImportZone beside a service: %v", err)
	}
	if _, err := s.ShowService(ctx, "www.lb.example.com"); err != nil {
		t.Errorf("service lost by a zone import: %v", err)
	}
}

func TestDeleteZoneHoldingService(t *testing.T) {
	ctx := context.Background()
	s := openLB(t)
	mustApply(t, s, exampleServices)
	before := stateOf(t, s)
	err := s.DeleteZone(ctx, "LB.example.com")
	wantErr(t, err, KindInvalid, "name")
	if err != nil && !strings.Contains(err.Error(), "www.lb.example.com.") {
		t.Errorf("message %q does not name the service", err)
	}
	wantSameState(t, s, before)

	if err := s.DeleteService(ctx, "www.lb.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteZone(ctx, "lb.example.com"); err != nil {
		t.Errorf("DeleteZone after DeleteService: %v", err)
	}
}

// TestShowServiceRoundTrip checks `service show -o yaml | service apply -f -`
// changes nothing.
func TestShowServiceRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, text := range []string{exampleServices, minimalServices} {
		s := openLB(t)
		infos := mustApply(t, s, text)
		first, err := s.ShowService(ctx, infos[0].Name)
		if err != nil {
			t.Fatal(err)
		}
		out, err := MarshalServices([]Service{first})
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, string(out))
		again, err := s.ShowService(ctx, infos[0].Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Errorf("round trip changed the service:\n got %s\nwant %s\nyaml:\n%s", dump(t, again), dump(t, first), out)
		}
	}
}

func TestShowDeleteServiceErrors(t *testing.T) {
	ctx := context.Background()
	s := openLB(t)
	mustApply(t, s, exampleServices)
	before := stateOf(t, s)

	_, err := s.ShowService(ctx, "nope.lb.example.com")
	wantErr(t, err, KindNotFound, "")
	_, err = s.ShowService(ctx, "bad..name")
	wantErr(t, err, KindInvalid, "name")
	wantErr(t, s.DeleteService(ctx, "nope.lb.example.com"), KindNotFound, "")
	wantErr(t, s.DeleteService(ctx, "bad..name"), KindInvalid, "name")
	wantSameState(t, s, before)

	// Before any service exists (no bucket yet) lookups are NotFound too.
	empty := openLB(t)
	_, err = empty.ShowService(ctx, "www.lb.example.com")
	wantErr(t, err, KindNotFound, "")
	wantErr(t, empty.DeleteService(ctx, "www.lb.example.com"), KindNotFound, "")
	_, err = empty.SetSiteState(ctx, "www.lb.example.com", "fra", SiteDrained)
	wantErr(t, err, KindNotFound, "")
}

func TestDeleteService(t *testing.T) {
	ctx := context.Background()
	s := openLB(t)
	mustApply(t, s, exampleServices+`  - name: api.lb.example.com
    sites: [{name: fra, vips: [192.0.2.1]}]
`)
	mustSetSite(t, s, "www.lb.example.com", "fra", SiteDrained)
	mustSetSite(t, s, "api.lb.example.com", "fra", SiteDisabled)

	if err := s.DeleteService(ctx, "WWW.lb.example.com"); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	list := mustList(t, s)
	want := []ServiceInfo{{Name: "api.lb.example.com.", Zone: lbOrigin, Policy: PolicyGeo, TTL: DefaultServiceTTL,
		Sites: strs("fra"), Admin: map[string]string{"fra": SiteDisabled}}}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("ListServices = %s, want %s", dump(t, list), dump(t, want))
	}
	_, err := s.ShowService(ctx, "www.lb.example.com")
	wantErr(t, err, KindNotFound, "")
	wantErr(t, s.DeleteService(ctx, "www.lb.example.com"), KindNotFound, "")

	// Its admin state went with it: applying it again starts enabled.
	infos := mustApply(t, s, exampleServices)
	if infos[0].Admin != nil {
		t.Errorf("re-created service inherited admin state %v", infos[0].Admin)
	}
}

func TestSetSiteState(t *testing.T) {
	tests := []struct {
		state string
		admin map[string]string
	}{
		{SiteDrained, map[string]string{"fra": SiteDrained}},
		{SiteDisabled, map[string]string{"fra": SiteDisabled}},
		{SiteEnabled, nil},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			s := openLB(t)
			mustApply(t, s, exampleServices)
			mustSetSite(t, s, "www.lb.example.com", "iad", SiteDisabled)
			mustSetSite(t, s, "www.lb.example.com", "fra", SiteDisabled)
			mustSetSite(t, s, "www.lb.example.com", "iad", SiteEnabled)

			got := mustSetSite(t, s, "WWW.lb.example.com", "fra", tt.state)
			want := SiteState{Service: "www.lb.example.com.", Site: "fra", State: tt.state, TTL: 20}
			if got != want {
				t.Errorf("SetSiteState = %+v, want %+v", got, want)
			}
			if all := mustServices(t, s); !reflect.DeepEqual(all[0].Admin, tt.admin) {
				t.Errorf("Services() Admin = %v, want %v", all[0].Admin, tt.admin)
			}
			if list := mustList(t, s); !reflect.DeepEqual(list[0].Admin, tt.admin) {
				t.Errorf("ListServices Admin = %v, want %v", list[0].Admin, tt.admin)
			}

			// It is in the file, not in memory.
			path := s.Path()
			s.Close()
			s2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if all := mustServices(t, s2); !reflect.DeepEqual(all[0].Admin, tt.admin) {
				t.Errorf("after reopen Admin = %v, want %v", all[0].Admin, tt.admin)
			}
		})
	}
}

func TestSetSiteStateRefusals(t *testing.T) {
	tests := []struct {
		name, service, site, state string
		kind                       Kind
		field                      string
	}{
		{"unknown service", "nope.lb.example.com", "fra", SiteDrained, KindNotFound, ""},
		{"unknown site", "www.lb.example.com", "ams", SiteDrained, KindNotFound, ""},
		{"site name case matters", "www.lb.example.com", "FRA", SiteDrained, KindNotFound, ""},
		{"bad state", "www.lb.example.com", "fra", "paused", KindInvalid, "state"},
		{"empty state", "www.lb.example.com", "fra", "", KindInvalid, "state"},
		{"bad service name", "www..lb.example.com", "fra", SiteDrained, KindInvalid, "service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openLB(t)
			mustApply(t, s, exampleServices)
			mustSetSite(t, s, "www.lb.example.com", "iad", SiteDrained)
			before := stateOf(t, s)
			ch, stop := s.Watch()
			defer stop()
			_, err := s.SetSiteState(context.Background(), tt.service, tt.site, tt.state)
			wantErr(t, err, tt.kind, tt.field)
			wantSameState(t, s, before)
			noSignal(t, ch, "refused SetSiteState")
		})
	}
}

// TestReapplyPrunesSiteAdmin checks a site dropped from a service loses
// its admin state (so a later site of that name starts enabled), while
// sites still present keep theirs.
func TestReapplyPrunesSiteAdmin(t *testing.T) {
	s := openLB(t)
	mustApply(t, s, exampleServices+`  - name: api.lb.example.com
    sites: [{name: iad, vips: [192.0.2.1]}]
`)
	mustSetSite(t, s, "www.lb.example.com", "fra", SiteDrained)
	mustSetSite(t, s, "www.lb.example.com", "iad", SiteDisabled)
	mustSetSite(t, s, "api.lb.example.com", "iad", SiteDrained)

	// Drop iad from www, add ams.
	infos := mustApply(t, s, `services:
  - name: www.lb.example.com
    sites:
      - {name: ams, vips: [192.0.2.10]}
      - {name: fra, vips: [203.0.113.10]}
`)
	wantAdmin := map[string]string{"fra": SiteDrained}
	if !reflect.DeepEqual(infos[0].Admin, wantAdmin) {
		t.Errorf("ApplyServices Admin = %v, want %v", infos[0].Admin, wantAdmin)
	}
	list := mustList(t, s)
	if len(list) != 2 || !reflect.DeepEqual(list[1].Admin, wantAdmin) {
		t.Errorf("ListServices = %s, want www Admin %v", dump(t, list), wantAdmin)
	}
	// Another service's site of the same name is not touched.
	if !reflect.DeepEqual(list[0].Admin, map[string]string{"iad": SiteDrained}) {
		t.Errorf("api Admin = %v, want iad drained", list[0].Admin)
	}

	// iad comes back enabled.
	mustApply(t, s, exampleServices)
	all := mustServices(t, s)
	if !reflect.DeepEqual(all[1].Admin, wantAdmin) {
		t.Errorf("after iad returns, Admin = %v, want %v", all[1].Admin, wantAdmin)
	}
}

func TestCreateZoneAtServiceNameRefused(t *testing.T) {
	st := openLB(t)
	ctx := context.Background()
	mustApply(t, st, "services:\n  - name: www.lb.example.com\n    sites: [{name: x, vips: [192.0.2.1]}]\n")
	_, err := st.CreateZone(ctx, ZoneSpec{Origin: "www.lb.example.com", NS: []NameServer{{Host: "ns1.example.net"}}, Email: "h@example.com"})
	if KindOf(err) != KindInvalid {
		t.Fatalf("zone at a service name: got %v, want invalid", err)
	}
}

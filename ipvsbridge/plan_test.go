package ipvsbridge

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPlannerDiff(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	v6 := vs(t, "tcp", "2001:db8::10", "wlc", 0)
	foreign := vs(t, "tcp", "192.0.2.99", "rr", 0)
	a := dest(t, "10.0.0.1", 80, 10, "nat")
	b := dest(t, "10.0.0.2", 80, 20, "nat")
	withW := func(r RealServer, w int) RealServer { r.Weight = w; return r }
	withConns := func(r RealServer, active, inactive int) RealServer {
		r.ActiveConns, r.InactiveConns = active, inactive
		return r
	}
	withSched := func(v VirtualService, sched string, persist uint32) VirtualService {
		v.Scheduler, v.Persistence = sched, persist
		return v
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const timeout = time.Minute
	drained := func(ago time.Duration) map[string]time.Time {
		return map[string]time.Time{
			v.Key() + "|" + b.Key(): now.Add(-ago),
			v.Key():                 now.Add(-ago),
		}
	}

	cases := []struct {
		name    string
		desired []Service
		actual  []Service
		owned   []string
		drains  map[string]time.Time
		want    []string
	}{
		{"empty table", []Service{svc(v, a, b), svc(v6)}, nil, nil, nil, []string{
			"add-service tcp/192.0.2.10:80",
			"add-real tcp/192.0.2.10:80 10.0.0.1:80=10",
			"add-real tcp/192.0.2.10:80 10.0.0.2:80=20",
			"add-service tcp/[2001:db8::10]:80",
		}},
		{"in sync", []Service{svc(v, a, b)}, []Service{svc(v, withConns(a, 5, 5), b)}, nil, nil, nil},
		{"nothing desired, nothing owned", nil, []Service{svc(v, a)}, nil, nil, nil},
		{"weight change", []Service{svc(v, withW(a, 11), b)}, []Service{svc(v, a, b)}, nil, nil, []string{
			"update-real tcp/192.0.2.10:80 10.0.0.1:80=11",
		}},
		{"forward change", []Service{svc(v, a, b)}, []Service{svc(v, a, RealServer{Addr: b.Addr, Port: 80, Weight: 20, Forward: "dr"})}, nil, nil, []string{
			"update-real tcp/192.0.2.10:80 10.0.0.2:80=20",
		}},
		{"scheduler change", []Service{svc(withSched(v, "rr", 0), a)}, []Service{svc(v, a)}, nil, nil, []string{
			"update-service tcp/192.0.2.10:80",
		}},
		{"persistence change", []Service{svc(withSched(v, "wlc", 300), a)}, []Service{svc(v, a)}, nil, nil, []string{
			"update-service tcp/192.0.2.10:80",
		}},
		{"real added", []Service{svc(v, a, b)}, []Service{svc(v, a)}, nil, nil, []string{
			"add-real tcp/192.0.2.10:80 10.0.0.2:80=20",
		}},
		{"real removed: drain", []Service{svc(v, a)}, []Service{svc(v, a, withConns(b, 3, 0))}, nil, nil, []string{
			"drain-real tcp/192.0.2.10:80 10.0.0.2:80=0",
		}},
		{"real removed, idle at weight 0: delete", []Service{svc(v, a)}, []Service{svc(v, a, withW(b, 0))}, nil, nil, []string{
			"delete-real tcp/192.0.2.10:80 10.0.0.2:80=0",
		}},
		{"real draining with connections: keep", []Service{svc(v, a)}, []Service{svc(v, a, withConns(withW(b, 0), 0, 4))}, nil, drained(timeout - time.Second), nil},
		{"real draining with connections, no clock yet: keep", []Service{svc(v, a)}, []Service{svc(v, a, withConns(withW(b, 0), 1, 0))}, nil, nil, nil},
		{"real draining past the timeout: delete", []Service{svc(v, a)}, []Service{svc(v, a, withConns(withW(b, 0), 1, 0))}, nil, drained(timeout), []string{
			"delete-real tcp/192.0.2.10:80 10.0.0.2:80=0",
		}},
		{"owned service withdrawn: drain its reals", nil, []Service{svc(v, a, withW(b, 0))}, []string{v.Key()}, nil, []string{
			"drain-real tcp/192.0.2.10:80 10.0.0.1:80=0",
		}},
		{"withdrawn, drained and idle: delete", nil, []Service{svc(v, withW(a, 0), withW(b, 0))}, []string{v.Key()}, nil, []string{
			"delete-service tcp/192.0.2.10:80",
		}},
		{"withdrawn, no reals: delete", nil, []Service{svc(v)}, []string{v.Key()}, nil, []string{
			"delete-service tcp/192.0.2.10:80",
		}},
		{"withdrawn, drained with connections: keep", nil, []Service{svc(v, withConns(withW(a, 0), 2, 0))}, []string{v.Key()}, drained(timeout / 2), nil},
		{"withdrawn, past the drain timeout: delete", nil, []Service{svc(v, withConns(withW(a, 0), 2, 0))}, []string{v.Key()}, drained(2 * timeout), []string{
			"delete-service tcp/192.0.2.10:80",
		}},
		{"foreign services are never touched", []Service{svc(v, a)}, []Service{svc(v, a), svc(foreign, a), svc(withSched(foreign, "sh", 9))}, []string{v.Key()}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			owned := map[string]bool{}
			for _, k := range tc.owned {
				owned[k] = true
			}
			p := planner{
				owned:        func(k string) bool { return owned[k] },
				drainStarted: func(k string) (time.Time, bool) { t, ok := tc.drains[k]; return t, ok },
				drainTimeout: timeout,
				now:          now,
			}
			got := summary(p.diff(tc.desired, tc.actual))
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestActionString(t *testing.T) {
	v := vs(t, "tcp", "192.0.2.10", "wlc", 0)
	r := dest(t, "10.0.0.1", 8080, 0, "dr")
	got := Action{Kind: DrainReal, Service: v, Real: &r, Reason: "removed: draining"}.String()
	for _, w := range []string{"drain-real", "tcp/192.0.2.10:80", "10.0.0.1:8080 weight 0 dr", "(removed: draining)"} {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
	if got := (Action{Kind: DeleteService, Service: v, Reason: "x"}).String(); strings.Contains(got, "->") {
		t.Errorf("service action %q shows a real", got)
	}
}

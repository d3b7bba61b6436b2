package ipvsbridge

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// procTree writes a fake /proc under a temporary directory: files maps a
// path under it to its content.
func procTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// goodProc is a director set up for every mode.
func goodProc() map[string]string {
	return map[string]string{
		"net/ip_vs":                                 "IP Virtual Server version 1.2.1 (size=4096)\n",
		"sys/net/ipv4/ip_forward":                   "1\n",
		"sys/net/ipv4/vs/expire_nodest_conn":        "1\n",
		"sys/net/ipv4/vs/expire_quiescent_template": "1\n",
		"sys/net/ipv4/vs/conntrack":                 "1\n",
	}
}

func with(m map[string]string, edits map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range edits {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestDoctor(t *testing.T) {
	const (
		ipvs      = "IPVS in the kernel (/proc/net/ip_vs)"
		fwd       = "net.ipv4.ip_forward"
		nodest    = "net.ipv4.vs.expire_nodest_conn"
		quiescent = "net.ipv4.vs.expire_quiescent_template"
		conntrack = "net.ipv4.vs.conntrack"
		reals     = "real servers"
	)
	cases := []struct {
		name  string
		proc  map[string]string
		modes []string
		want  []string // "status mode name=got", in order
	}{
		{"all good, nat", goodProc(), []string{"nat"}, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
			"ok nat " + fwd + "=1", "ok nat " + conntrack + "=1",
			"ok nat " + reals + "=not checked from the director",
		}},
		{"all good, every mode", goodProc(), []string{"nat", "dr", "tun"}, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
			"ok nat " + fwd + "=1", "ok nat " + conntrack + "=1", "ok tun " + fwd + "=1",
			"ok nat " + reals + "=not checked from the director",
			"ok dr " + reals + "=not checked from the director",
			"ok tun " + reals + "=not checked from the director",
		}},
		{"no IPVS", with(goodProc(), map[string]string{"net/ip_vs": "", "sys/net/ipv4/vs/expire_nodest_conn": "",
			"sys/net/ipv4/vs/expire_quiescent_template": "", "sys/net/ipv4/vs/conntrack": ""}), []string{"dr"}, []string{
			"fail all " + ipvs + "=no", "warn all " + nodest + "=missing", "warn all " + quiescent + "=missing",
			"ok dr " + reals + "=not checked from the director",
		}},
		{"nat without forwarding fails", with(goodProc(), map[string]string{"sys/net/ipv4/ip_forward": "0\n"}), []string{"nat"}, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
			"fail nat " + fwd + "=0", "ok nat " + conntrack + "=1",
			"ok nat " + reals + "=not checked from the director",
		}},
		{"tun without forwarding warns", with(goodProc(), map[string]string{"sys/net/ipv4/ip_forward": "0"}), []string{"tun"}, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
			"warn tun " + fwd + "=0",
			"ok tun " + reals + "=not checked from the director",
		}},
		{"dr needs no forwarding", with(goodProc(), map[string]string{"sys/net/ipv4/ip_forward": "0"}), []string{"dr"}, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
			"ok dr " + reals + "=not checked from the director",
		}},
		{"vs sysctls off warn", with(goodProc(), map[string]string{"sys/net/ipv4/vs/expire_nodest_conn": "0",
			"sys/net/ipv4/vs/expire_quiescent_template": "0", "sys/net/ipv4/vs/conntrack": "0"}), []string{"nat"}, []string{
			"ok all " + ipvs + "=yes", "warn all " + nodest + "=0", "warn all " + quiescent + "=0",
			"ok nat " + fwd + "=1", "warn nat " + conntrack + "=0",
			"ok nat " + reals + "=not checked from the director",
		}},
		{"no modes", goodProc(), nil, []string{
			"ok all " + ipvs + "=yes", "ok all " + nodest + "=1", "ok all " + quiescent + "=1",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checks := Doctor(procTree(t, tc.proc), tc.modes)
			got := []string{}
			for _, c := range checks {
				got = append(got, c.Status+" "+c.Mode+" "+c.Name+"="+c.Got)
				if c.Why == "" {
					t.Errorf("check %q has no why", c.Name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Doctor =\n  %q\nwant\n  %q", got, tc.want)
			}
		})
	}
}

// TestDoctorChangesNothing: the proc tree is only read.
func TestDoctorChangesNothing(t *testing.T) {
	proc := with(goodProc(), map[string]string{"sys/net/ipv4/ip_forward": "0\n"})
	root := procTree(t, proc)
	Doctor(root, []string{"nat", "dr", "tun"})
	for p, content := range proc {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil || string(b) != content {
			t.Errorf("%s = %q, %v; want %q", p, b, err, content)
		}
	}
}

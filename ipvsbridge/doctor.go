package ipvsbridge

import (
	"os"
	"path/filepath"
	"strings"
)

// Check is one finding of Doctor.
type Check struct {
	Mode   string `json:"mode"` // all, nat, dr, tun
	Name   string `json:"name"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Status string `json:"status"` // ok, warn, fail
	Why    string `json:"why"`
}

// sysctl is one director setting Doctor looks at.
type sysctl struct {
	mode, path, want, severity, why string
}

var directorSysctls = []sysctl{
	{"all", "net/ipv4/vs/expire_nodest_conn", "1", "warn",
		"drop connections to a deleted real server at once instead of timing them out"},
	{"all", "net/ipv4/vs/expire_quiescent_template", "1", "warn",
		"with persistence, let templates of a weight-0 (drained) real server expire so clients move"},
	{"nat", "net/ipv4/ip_forward", "1", "fail",
		"LVS-NAT routes replies from the real servers back through the director"},
	{"nat", "net/ipv4/vs/conntrack", "1", "warn",
		"keep netfilter connection tracking for IPVS traffic when the director also runs firewall or SNAT rules"},
	{"tun", "net/ipv4/ip_forward", "1", "warn",
		"a TUN director that also routes other traffic needs forwarding; pure TUN does not"},
}

// Doctor reads the director sysctls each forwarding mode relies on under
// procRoot ("/proc" on a live system) and reports what is wrong. It changes
// nothing.
func Doctor(procRoot string, modes []string) []Check {
	var out []Check
	present := "yes"
	if _, err := os.Stat(filepath.Join(procRoot, "net/ip_vs")); err != nil {
		present = "no"
	}
	c := Check{Mode: "all", Name: "IPVS in the kernel (/proc/net/ip_vs)", Want: "yes", Got: present, Status: "ok",
		Why: "lbdns programs IPVS over netlink; modprobe ip_vs (and a scheduler module, e.g. ip_vs_wlc)"}
	if present == "no" {
		c.Status = "fail"
	}
	out = append(out, c)
	for _, s := range directorSysctls {
		if s.mode != "all" && !containsMode(modes, s.mode) {
			continue
		}
		got := readSysctl(procRoot, s.path)
		c := Check{Mode: s.mode, Name: strings.ReplaceAll(s.path, "/", "."), Want: s.want, Got: got, Status: "ok", Why: s.why}
		if got != s.want {
			c.Status = s.severity
		}
		out = append(out, c)
	}
	for _, m := range modes {
		if note, ok := realServerNotes[m]; ok {
			out = append(out, Check{Mode: m, Name: "real servers", Status: "ok", Why: note, Got: "not checked from the director"})
		}
	}
	return out
}

// realServerNotes are what each mode needs on the real servers, which a
// director cannot check.
var realServerNotes = map[string]string{
	"nat": "real servers' default route must point at the director, or replies bypass it",
	"dr":  "real servers need the VIP on lo, net.ipv4.conf.all.arp_ignore=1 and arp_announce=2, and the same L2 segment as the director",
	"tun": "real servers need the ipip module, the VIP on tunl0, rp_filter=0 on tunl0, and arp_ignore=1/arp_announce=2",
}

func containsMode(modes []string, m string) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}

func readSysctl(root, path string) string {
	b, err := os.ReadFile(filepath.Join(root, "sys", path))
	if err != nil {
		return "missing"
	}
	return strings.TrimSpace(string(b))
}

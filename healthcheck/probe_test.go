package healthcheck

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// checkErr fails unless err is nil (want == "") or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("probe failed: %v", err)
	case want != "" && err == nil:
		t.Errorf("probe passed, want a failure containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("probe error %q, want one containing %q", err, want)
	}
}

func TestProbeTCP(t *testing.T) {
	t.Parallel()
	up := startTCP(t, "127.0.0.1")
	tests := []struct {
		name string
		at   netip.AddrPort
		want string
	}{
		{"listener up", up.ap, ""},
		{"listener closed", closedPort(t), "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, probeOnce(t, tc.at, &zones.Health{Kind: "tcp", Timeout: "10s"}), tc.want)
		})
	}
	if up.accepts.Load() == 0 {
		t.Errorf("the listener saw no connection")
	}
}

func TestProbeHTTP(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all systems go") })
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "all systems go") // the body does not rescue a bad status
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.example.test" {
			http.Error(w, "wrong vhost "+r.Host, http.StatusMisdirectedRequest)
		}
	})
	mux.HandleFunc("/method", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			http.Error(w, "HEAD only", http.StatusMethodNotAllowed)
		}
	})
	_, at := httpServer(t, mux)
	tests := []struct {
		name string
		h    zones.Health
		want string
	}{
		{"200 passes the default expect", zones.Health{Path: "/ok"}, ""},
		{"204 fails the default expect", zones.Health{Path: "/nocontent"}, "HTTP status 204, want [200]"},
		{"204 passes when expected", zones.Health{Path: "/nocontent", Expect: []int{200, 204}}, ""},
		{"503 fails", zones.Health{Path: "/unavailable", Body: "go"}, "HTTP status 503"},
		{"404 fails", zones.Health{Path: "/missing"}, "HTTP status 404"},
		{"body substring present", zones.Health{Path: "/ok", Body: "systems go"}, ""},
		{"body substring absent", zones.Health{Path: "/ok", Body: "meltdown"}, `body lacks "meltdown"`},
		{"redirects are not followed", zones.Health{Path: "/redirect"}, "HTTP status 302"},
		{"a redirect can be expected", zones.Health{Path: "/redirect", Expect: []int{302}}, ""},
		{"host header sent", zones.Health{Path: "/vhost", Host: "app.example.test"}, ""},
		{"no host header: the address is the host", zones.Health{Path: "/vhost"}, "HTTP status 421"},
		{"method sent", zones.Health{Path: "/method", Method: "HEAD"}, ""},
		{"wrong method", zones.Health{Path: "/method"}, "HTTP status 405"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			h.Kind, h.Timeout = "http", "10s"
			checkErr(t, probeOnce(t, at, &h), tc.want)
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		checkErr(t, probeOnce(t, closedPort(t), &zones.Health{Kind: "http"}), "connection refused")
	})
}

func TestProbeHTTPS(t *testing.T) {
	t.Parallel()
	const name = "app.example.test"
	srv := startHTTPS(t, selfSigned(t, name), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != name && r.Host != name+":8443" && !strings.HasPrefix(r.Host, "127.0.0.1:") {
			http.Error(w, "unexpected host "+r.Host, http.StatusMisdirectedRequest)
		}
	}))
	tests := []struct {
		name    string
		h       zones.Health
		want    string
		wantSNI string // "" for none: Go sends no SNI for an IP address
	}{
		{"verification is on by default: a self-signed certificate fails", zones.Health{}, "certificate signed by unknown authority", ""},
		{"verification fails with a matching host too", zones.Health{Host: name}, "certificate signed by unknown authority", name},
		{"insecure skips verification", zones.Health{Insecure: true}, "", ""},
		{"insecure, SNI from host", zones.Health{Insecure: true, Host: name}, "", name},
		{"SNI from host without its port", zones.Health{Insecure: true, Host: name + ":8443"}, "", name},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			h.Kind, h.Timeout = "https", "10s"
			checkErr(t, probeOnce(t, srv.ap, &h), tc.want)
			sni, ok := srv.lastSNI()
			if !ok {
				t.Fatalf("no TLS handshake reached the server")
			}
			if sni != tc.wantSNI {
				t.Errorf("SNI %q, want %q", sni, tc.wantSNI)
			}
		})
	}
	t.Run("plain http to a TLS port fails", func(t *testing.T) {
		checkErr(t, probeOnce(t, srv.ap, &zones.Health{Kind: "http", Timeout: "10s"}), "HTTP status 400")
	})
}

func TestProbeDNS(t *testing.T) {
	t.Parallel()
	at := startDNS(t)
	tests := []struct {
		name string
		h    zones.Health
		want string
	}{
		{"NOERROR with an answer", zones.Health{Query: "ok.test"}, ""},
		{"NOERROR with an AAAA answer", zones.Health{Query: "ok.test.", QueryType: "AAAA"}, ""},
		{"NOERROR without an answer (wrong type)", zones.Health{Query: "ok.test", QueryType: "MX"}, "DNS answer is empty"},
		{"NOERROR without an answer", zones.Health{Query: "empty.test"}, "DNS answer is empty"},
		{"NXDOMAIN", zones.Health{Query: "missing.test"}, "DNS rcode NXDOMAIN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			h.Kind, h.Timeout = "dns", "10s"
			checkErr(t, probeOnce(t, at, &h), tc.want)
		})
	}
	t.Run("no server answers within the timeout", func(t *testing.T) {
		start := time.Now()
		err := probeOnce(t, closedUDPPort(t), &zones.Health{Kind: "dns", Query: "ok.test", Timeout: "300ms"})
		if err == nil {
			t.Fatal("probe passed with no server")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("probe took %s with a 300ms timeout", d)
		}
	})
}

// closedUDPPort is a UDP port nobody reads: the query gets an ICMP port
// unreachable or nothing.
func closedUDPPort(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestProbeExec(t *testing.T) {
	t.Parallel()
	sh := func(script string) []string { return []string{"/bin/sh", "-c", script, "probe"} }
	at := netip.MustParseAddrPort("127.0.0.7:8080")
	tests := []struct {
		name string
		cmd  []string
		want string
	}{
		{"exit 0 passes", sh("exit 0"), ""},
		{"exit 1 fails with its output", sh("echo 'backend is sad' >&2; echo stdout too; exit 1"), "exit status 1: backend is sad\nstdout too"},
		{"exit 1 without output", sh("exit 1"), "exit status 1"},
		{"address and port are the last two arguments", sh(`[ "$1" = 127.0.0.7 ] && [ "$2" = 8080 ] && [ $# = 2 ] || { echo "got $*"; exit 3; }`), ""},
		{"a command that does not exist", []string{"/nonexistent/check"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, probeOnce(t, at, &zones.Health{Kind: "exec", Command: tc.cmd, Timeout: "10s"}), tc.want)
		})
	}
	t.Run("long output is cut", func(t *testing.T) {
		err := probeOnce(t, at, &zones.Health{Kind: "exec", Command: sh("i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done; exit 1"), Timeout: "10s"})
		if err == nil || len(err.Error()) > 300 {
			t.Errorf("error %q: want a failure with at most 200 bytes of output", err)
		}
	})
	// The shell waits for sleep, so killing the shell alone leaves sleep
	// holding the output pipe: the probe must still end at its timeout.
	for _, script := range []string{"sleep 5", "sleep 5; echo late", "echo started; sleep 5 & wait"} {
		t.Run("sleeping past the timeout: "+script, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			start := time.Now()
			err := probeOnce(t, at, &zones.Health{Kind: "exec", Command: sh(script), Timeout: timeout.String()})
			took := time.Since(start)
			checkErr(t, err, "command timed out after 300ms")
			if took > timeout+1500*time.Millisecond {
				t.Errorf("probe took %s with a %s timeout", took, timeout)
			}
		})
	}
}

// TestProbeHTTPHung: a server that accepts and never answers costs the
// probe its timeout, and no more.
func TestProbeHTTPHung(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var hits atomic.Int32
	_, at := httpServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	start := time.Now()
	err := probeOnce(t, at, &zones.Health{Kind: "http", Timeout: "300ms"})
	took := time.Since(start)
	checkErr(t, err, "deadline exceeded")
	if took < 300*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("hung probe took %s, want about its 300ms timeout", took)
	}
	if hits.Load() != 1 {
		t.Errorf("handler hit %d times, want 1", hits.Load())
	}
}

//go:build vm

package vmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbdns/lbdns/ipvsbridge"
)

// The test binary doubles as the small programs the tests run inside
// network namespaces (`nsenter --net=/run/netns/NS /vmtests` with LBDNS_VM_HELPER
// set): an HTTP server that names itself, an HTTP client that counts who
// answered, and a one-shot reconcile of the namespace's IPVS table.
const (
	envHelper       = "LBDNS_VM_HELPER"
	envName         = "LBDNS_VM_NAME"          // httpd: the name it answers with
	envListen       = "LBDNS_VM_LISTEN"        // httpd: the address it listens on
	envURL          = "LBDNS_VM_URL"           // fetch: what to GET
	envCount        = "LBDNS_VM_COUNT"         // fetch: how many times
	envSteps        = "LBDNS_VM_STEPS"         // reconcile: []reconcileStep as JSON
	envDrainTimeout = "LBDNS_VM_DRAIN_TIMEOUT" // reconcile: the reconciler's drain timeout
)

func TestMain(m *testing.M) {
	switch h := os.Getenv(envHelper); h {
	case "":
	case "httpd":
		os.Exit(helperHTTPD())
	case "fetch":
		os.Exit(helperFetch())
	case "reconcile":
		os.Exit(helperReconcile())
	default:
		fmt.Fprintf(os.Stderr, "vmtests: unknown helper %q\n", h)
		os.Exit(2)
	}
	if os.Getenv("LBDNS_VM") != "1" {
		fmt.Fprintln(os.Stderr, "vmtests: these tests reconfigure the network and the IPVS table of the machine they run on;\n"+
			"they run only inside the QEMU VM that the ipvsbridge/vmhost harness boots: make test-ipvs (see testdata/vm/README.md)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// helperHTTPD serves "NAME\n" to every request and prints READY once it
// listens.
func helperHTTPD() int {
	name := os.Getenv(envName)
	ln, err := net.Listen("tcp", os.Getenv(envListen))
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpd:", err)
		return 1
	}
	fmt.Println("READY", ln.Addr())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, name)
	}))
	fmt.Fprintln(os.Stderr, "httpd:", err)
	return 1
}

// fetchResult is what the fetch helper prints: who answered how often,
// and the errors.
type fetchResult struct {
	Counts map[string]int `json:"counts"`
	Errors []string       `json:"errors"`
}

// helperFetch GETs the URL COUNT times, each on a new connection (so that
// IPVS schedules every request), and prints a fetchResult.
func helperFetch() int {
	n, err := strconv.Atoi(os.Getenv(envCount))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		return 2
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res := fetchResult{Counts: map[string]int{}}
	for range n {
		resp, err := client.Get(os.Getenv(envURL))
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			res.Errors = append(res.Errors, err.Error())
		case resp.StatusCode != http.StatusOK:
			res.Errors = append(res.Errors, resp.Status)
		default:
			res.Counts[strings.TrimSpace(string(body))]++
		}
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// reconcileStep is one pass of the reconcile helper: wait, then
// reconcile to Desired.
type reconcileStep struct {
	Wait    time.Duration        `json:"wait"`
	Desired []ipvsbridge.Service `json:"desired"`
}

// reconcileResult is a step's plan and the table the port read back after
// it.
type reconcileResult struct {
	Plan  ipvsbridge.Plan      `json:"plan"`
	Table []ipvsbridge.Service `json:"table"`
}

// helperReconcile runs the steps of LBDNS_VM_STEPS with one reconciler
// (drain timeout LBDNS_VM_DRAIN_TIMEOUT, if set) over this network
// namespace's IPVS table, and prints their results as JSON. It fails
// unless every desired service reads back as programmed after each step.
func helperReconcile() int {
	var steps []reconcileStep
	if err := json.Unmarshal([]byte(os.Getenv(envSteps)), &steps); err != nil {
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		return 2
	}
	port, err := ipvsbridge.OpenKernel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reconcile:", err)
		return 1
	}
	defer port.Close()
	// Each run of this helper is the same director restarted: it owns the
	// services its steps name, as lbdns knows its own from DB.ipvs (a
	// reconciler never adopts a service it did not create).
	var owned []string
	for _, st := range steps {
		for _, s := range st.Desired {
			owned = append(owned, s.Key())
		}
	}
	rec := ipvsbridge.NewReconciler(port, slog.New(slog.NewTextHandler(os.Stderr, nil)), owned)
	if d, err := time.ParseDuration(os.Getenv(envDrainTimeout)); err == nil {
		rec.DrainTimeout = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var results []reconcileResult
	defer func() { json.NewEncoder(os.Stdout).Encode(results) }()
	for i, st := range steps {
		time.Sleep(st.Wait)
		plan, err := rec.Reconcile(ctx, st.Desired)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reconcile: step %d: %v\n", i+1, err)
			return 1
		}
		table, err := port.Services(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "reconcile: step %d: read back: %v\n", i+1, err)
			return 1
		}
		results = append(results, reconcileResult{Plan: plan, Table: table})
		for _, s := range st.Desired {
			if !rec.Programmed(s.Key()) {
				fmt.Fprintf(os.Stderr, "reconcile: step %d: %s does not read back as programmed\n", i+1, s.Key())
				return 1
			}
		}
	}
	return 0
}

// Package conformance holds a differential test that serves the zone files
// in testdata/conformance from lbdns and from NSD and compares their answers.
// See README.md.
package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// lbdnsBin is the lbdns binary TestMain builds for this run.
var lbdnsBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lbdns-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	lbdnsBin = filepath.Join(dir, "lbdns")
	build := exec.Command("go", "build", "-o", lbdnsBin, "github.com/lbdns/lbdns/cmd/lbdns")
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: building lbdns:", err)
		return 1
	}
	return m.Run()
}

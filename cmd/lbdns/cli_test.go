package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

// These tests run the real binary, built once by TestMain, against real
// bbolt files: they cover flag handling, exit statuses and output exactly
// as a user meets them.

var lbdnsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lbdns-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lbdnsBin = filepath.Join(dir, "lbdns")
	if runtime.GOOS == "windows" {
		lbdnsBin += ".exe"
	}
	build := exec.Command("go", "build", "-o", lbdnsBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building lbdns: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// lbdns runs the binary with env added to a cleaned environment, in a
// scratch directory so that nothing lands in the source tree.
func lbdns(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(lbdnsBin, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LBDNS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running lbdns %q: %v", args, err)
	}
	return r
}

// mustRun runs lbdns with --db db and fails the test unless it succeeds.
func mustRun(t *testing.T, db string, args ...string) result {
	t.Helper()
	r := lbdns(t, nil, append([]string{"--db", db}, args...)...)
	if r.code != 0 {
		t.Fatalf("lbdns %q: %v", args, r)
	}
	return r
}

// newDB makes a database holding example.com with a few records.
func newDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "lbdns.db")
	mustRun(t, db, "zone", "create", "example.com", "--ns", "ns1.example.com=192.0.2.53",
		"--ns", "ns2.other.net", "--email", "hostmaster@example.com")
	mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.10", "--ttl", "300")
	mustRun(t, db, "record", "add", "example.com", "MX", "10", "mail.example.com.")
	mustRun(t, db, "record", "add", "example.com", "TXT", `"hello world"`)
	return db
}

func listRecords(t *testing.T, db, origin string) []zones.Record {
	t.Helper()
	var recs []zones.Record
	r := mustRun(t, db, "record", "list", origin, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatalf("record list --json: %v\n%s", err, r.stdout)
	}
	return recs
}

func hasRecord(recs []zones.Record, want zones.Record) bool {
	return slices.Contains(recs, want)
}

func TestZoneAndRecordCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lbdns.db")

	r := mustRun(t, db, "zone", "create", "example.com", "--ns", "ns1.example.com=192.0.2.53",
		"--ns", "ns2.other.net", "--email", "hostmaster@example.com", "--ttl", "3600")
	if !strings.HasPrefix(r.stdout, "created zone example.com. (serial ") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("zone create printed %q", r.stdout)
	}

	adds := []struct {
		args []string
		want string
	}{
		{[]string{"www.example.com", "A", "192.0.2.10", "--ttl", "300"}, "added www.example.com. 300 IN A 192.0.2.10 (example.com. serial "},
		{[]string{"www.example.com", "AAAA", "2001:db8::10", "--ttl=60"}, "added www.example.com. 60 IN AAAA 2001:db8::10 (example.com. serial "},
		{[]string{"example.com", "MX", "10", "mail.example.com."}, "added example.com. 300 IN MX 10 mail.example.com. (example.com. serial "},
		{[]string{"example.com", "txt", `"hello world"`}, `added example.com. 300 IN TXT "hello world" (example.com. serial `},
		{[]string{"--ttl", "0", "Mail.Example.COM.", "A", "192.0.2.25"}, "added mail.example.com. 0 IN A 192.0.2.25 (example.com. serial "},
	}
	for _, a := range adds {
		r := mustRun(t, db, append([]string{"record", "add"}, a.args...)...)
		if !strings.HasPrefix(r.stdout, a.want) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("record add %q printed %q, want %q...", a.args, r.stdout, a.want)
		}
	}

	recs := listRecords(t, db, "example.com")
	for _, want := range []zones.Record{
		{Name: "www.example.com.", Type: "A", TTL: 300, Data: "192.0.2.10"},
		{Name: "www.example.com.", Type: "AAAA", TTL: 60, Data: "2001:db8::10"},
		{Name: "example.com.", Type: "MX", TTL: 300, Data: "10 mail.example.com."},
		{Name: "example.com.", Type: "TXT", TTL: 300, Data: `"hello world"`},
		{Name: "mail.example.com.", Type: "A", TTL: 0, Data: "192.0.2.25"},
		{Name: "ns1.example.com.", Type: "A", TTL: 3600, Data: "192.0.2.53"},
		{Name: "example.com.", Type: "NS", TTL: 3600, Data: "ns2.other.net."},
	} {
		if !hasRecord(recs, want) {
			t.Errorf("record list --json lacks %+v; got %+v", want, recs)
		}
	}

	// The table: a header, one line per record, columns aligned.
	table := mustRun(t, db, "record", "list", "example.com").stdout
	lines := strings.Split(strings.TrimRight(table, "\n"), "\n")
	if len(lines) != len(recs)+1 {
		t.Fatalf("record list printed %d lines for %d records:\n%s", len(lines), len(recs), table)
	}
	if f := strings.Fields(lines[0]); !slices.Equal(f, []string{"NAME", "TTL", "TYPE", "DATA"}) {
		t.Errorf("table header %q", lines[0])
	}
	for _, col := range []string{"TTL", "TYPE", "DATA"} {
		at := strings.Index(lines[0], col)
		for _, l := range lines[1:] {
			if len(l) <= at || l[at-1] != ' ' || l[at] == ' ' {
				t.Errorf("column %s (at %d) not aligned in %q", col, at, l)
			}
		}
	}
	if !strings.Contains(table, `300   TXT   "hello world"`) {
		t.Errorf("table lacks the TXT row as typed:\n%s", table)
	}

	var infos []zones.ZoneInfo
	if err := json.Unmarshal([]byte(mustRun(t, db, "zone", "list", "--json").stdout), &infos); err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Origin != "example.com." || infos[0].Records != len(recs) ||
		infos[0].Email != "hostmaster@example.com" || !slices.Equal(infos[0].NS, []string{"ns1.example.com.", "ns2.other.net."}) {
		t.Errorf("zone list --json = %+v", infos)
	}
	if out := mustRun(t, db, "zone", "list").stdout; !strings.Contains(out, "ORIGIN") || !strings.Contains(out, "example.com.") {
		t.Errorf("zone list printed %q", out)
	}
	var info zones.ZoneInfo
	if err := json.Unmarshal([]byte(mustRun(t, db, "zone", "show", "example.com", "--json").stdout), &info); err != nil {
		t.Fatal(err)
	}
	if info.Origin != "example.com." || info.Serial != infos[0].Serial {
		t.Errorf("zone show --json = %+v, want %+v", info, infos[0])
	}
	if out := mustRun(t, db, "zone", "show", "example.com").stdout; !strings.Contains(out, fmt.Sprint(info.Serial)) {
		t.Errorf("zone show printed %q", out)
	}

	// Deleting one record, then a whole RRset.
	r = mustRun(t, db, "record", "delete", "www.example.com", "A", "192.0.2.10")
	if !strings.HasPrefix(r.stdout, "deleted www.example.com. A 192.0.2.10 (example.com. serial ") {
		t.Errorf("record delete printed %q", r.stdout)
	}
	mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.11")
	mustRun(t, db, "record", "add", "www.example.com", "A", "192.0.2.12")
	r = mustRun(t, db, "record", "delete", "www.example.com", "A")
	if !strings.HasPrefix(r.stdout, "deleted all www.example.com. A records (example.com. serial ") {
		t.Errorf("record delete of an RRset printed %q", r.stdout)
	}
	for _, rec := range listRecords(t, db, "example.com") {
		if rec.Name == "www.example.com." && rec.Type == "A" {
			t.Errorf("%+v survived the RRset delete", rec)
		}
	}
	if after := listRecords(t, db, "example.com"); !hasRecord(after, zones.Record{Name: "www.example.com.", Type: "AAAA", TTL: 60, Data: "2001:db8::10"}) {
		t.Errorf("RRset delete took the AAAA too: %+v", after)
	}

	// Serials only go up.
	var last zones.ZoneInfo
	if err := json.Unmarshal([]byte(mustRun(t, db, "zone", "show", "example.com", "--json").stdout), &last); err != nil {
		t.Fatal(err)
	}
	if last.Serial <= info.Serial {
		t.Errorf("serial %d after deletes, was %d", last.Serial, info.Serial)
	}

	r = mustRun(t, db, "zone", "delete", "example.com")
	if r.stdout != "deleted zone example.com.\n" {
		t.Errorf("zone delete printed %q", r.stdout)
	}
	if out := mustRun(t, db, "zone", "list", "--json").stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("zone list --json after delete = %q, want []", out)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	db := newDB(t)
	exported := mustRun(t, db, "zone", "export", "example.com").stdout
	if !strings.Contains(exported, "IN\tSOA\t") || !strings.Contains(exported, `"hello world"`) {
		t.Fatalf("export:\n%s", exported)
	}
	file := filepath.Join(t.TempDir(), "example.com.zone")
	if err := os.WriteFile(file, []byte(exported), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listRecords(t, db, "example.com")

	// Into a fresh database: import creates both the file and the zone.
	db2 := filepath.Join(t.TempDir(), "copy.db")
	r := mustRun(t, db2, "zone", "import", "example.com", file)
	if want := fmt.Sprintf("imported example.com. from %s: %d records (serial ", file, len(before)); !strings.HasPrefix(r.stdout, want) {
		t.Errorf("zone import printed %q, want %q...", r.stdout, want)
	}
	if again := mustRun(t, db2, "zone", "export", "example.com").stdout; again != exported {
		t.Errorf("export after import differs:\n%s\nwant:\n%s", again, exported)
	}

	// Over the same zone after deleting it: the same records, and a serial
	// one past the deleted zone's, so secondaries take it as newer.
	mustRun(t, db, "zone", "delete", "example.com")
	mustRun(t, db, "zone", "import", "example.com", file)
	again := mustRun(t, db, "zone", "export", "example.com").stdout
	if exportSerial(t, again) != exportSerial(t, exported)+1 {
		t.Errorf("serial after delete and import %d, want %d", exportSerial(t, again), exportSerial(t, exported)+1)
	}
	after := listRecords(t, db, "example.com")
	if len(after) != len(before) || !slices.Equal(after[1:], before[1:]) {
		t.Errorf("records after round trip %+v, want %+v", after, before)
	}
}

// exportSerial reads the serial from an exported zone's SOA line.
func exportSerial(t *testing.T, zone string) uint32 {
	t.Helper()
	for l := range strings.Lines(zone) {
		if f := strings.Fields(l); len(f) > 6 && f[3] == "SOA" {
			v, err := strconv.ParseUint(f[6], 10, 32)
			if err != nil {
				t.Fatal(err)
			}
			return uint32(v)
		}
	}
	t.Fatalf("no SOA in:\n%s", zone)
	return 0
}

func TestDBFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	env := []string{"LBDNS_DB=" + db}
	if r := lbdns(t, env, "zone", "create", "example.org", "--ns", "ns.example.net", "--email", "h@example.org"); r.code != 0 {
		t.Fatal(r)
	}
	if r := lbdns(t, env, "record", "add", "www.example.org", "A", "192.0.2.1"); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("LBDNS_DB not used: %v", err)
	}
	if r := lbdns(t, env, "record", "list", "example.org"); r.code != 0 || !strings.Contains(r.stdout, "192.0.2.1") {
		t.Errorf("record list with LBDNS_DB: %v", r)
	}
	// --db wins over the environment.
	other := filepath.Join(t.TempDir(), "other.db")
	if r := lbdns(t, env, "--db", other, "zone", "list"); r.code != 1 || !strings.Contains(r.stderr, "no database at "+other) {
		t.Errorf("--db with LBDNS_DB set: %v", r)
	}
}

func TestMissingDatabaseIsNotCreated(t *testing.T) {
	db := filepath.Join(t.TempDir(), "typo.db")
	for _, args := range [][]string{
		{"zone", "list"},
		{"record", "add", "www.example.com", "A", "192.0.2.1"},
		{"zone", "export", "example.com"},
	} {
		r := lbdns(t, nil, append([]string{"--db", db}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "lbdns: no database at "+db) {
			t.Errorf("lbdns %q on a missing database: %v", args, r)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a read or record command created %s", db)
	}
}

// snapshot is everything a failed command must leave as it was.
func snapshot(t *testing.T, db string) string {
	t.Helper()
	return mustRun(t, db, "zone", "list", "--json").stdout + mustRun(t, db, "zone", "export", "example.com").stdout
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadInputChangesNothing(t *testing.T) {
	const head = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
	badZone := writeFile(t, "bad.zone", head+"www IN A 192.0.2.300\n")
	outsideZone := writeFile(t, "outside.zone", head+"www IN A 192.0.2.2\nwww.example.org. IN A 192.0.2.3\n")
	garbledZone := writeFile(t, "garbled.zone", head+"\n\nwww IN IN IN\n")

	tests := []struct {
		name string
		args []string
		code int
		want []string // all must appear in stderr
	}{
		{"bad name", []string{"record", "add", "bad..name.example.com", "A", "192.0.2.1"}, 1, []string{"name:", "bad..name.example.com"}},
		{"bad IPv4", []string{"record", "add", "www.example.com", "A", "192.0.2.300"}, 1, []string{"data:", "192.0.2.300"}},
		{"IPv4 as AAAA", []string{"record", "add", "www.example.com", "AAAA", "192.0.2.1"}, 1, []string{"data:"}},
		{"TTL too big", []string{"record", "add", "www.example.com", "A", "192.0.2.1", "--ttl", "2147483648"}, 1, []string{"ttl:", "2147483648"}},
		{"TTL negative", []string{"record", "add", "www.example.com", "A", "192.0.2.1", "--ttl", "-1"}, 1, []string{"ttl:", "-1"}},
		{"TTL not a number", []string{"record", "add", "www.example.com", "A", "192.0.2.1", "--ttl", "5m"}, 1, []string{"ttl:", "5m"}},
		{"zone TTL too big", []string{"zone", "create", "example.net", "--ns", "ns.example.org", "--email", "h@example.net", "--ttl", "2147483648"}, 1, []string{"ttl:"}},
		{"unknown type", []string{"record", "add", "www.example.com", "FOO", "x"}, 1, []string{"type:", "FOO"}},
		{"SOA by hand", []string{"record", "add", "example.com", "SOA", "a. b. 1 2 3 4 5"}, 1, []string{"type:"}},
		{"name outside every zone", []string{"record", "add", "www.example.org", "A", "192.0.2.1"}, 1, []string{"www.example.org"}},
		{"duplicate record", []string{"record", "add", "www.example.com", "A", "192.0.2.10"}, 1, []string{"exists"}},
		{"delete missing record", []string{"record", "delete", "www.example.com", "A", "192.0.2.99"}, 1, []string{"192.0.2.99"}},
		{"delete from missing zone", []string{"zone", "delete", "example.org"}, 1, []string{"example.org"}},
		{"create existing zone", []string{"zone", "create", "example.com", "--ns", "ns.example.org", "--email", "h@example.com"}, 1, []string{"exists"}},
		{"bad glue", []string{"zone", "create", "example.net", "--ns", "ns1.example.net=999.1.1.1", "--email", "h@example.net"}, 1, []string{"ns:", "999.1.1.1"}},
		{"malformed zone file", []string{"zone", "import", "example.com", badZone}, 1, []string{badZone + ":6:", "192.0.2.300"}},
		{"zone file name outside origin", []string{"zone", "import", "example.com", outsideZone}, 1, []string{outsideZone + ":7:", "name:", "www.example.org"}},
		{"garbled zone file", []string{"zone", "import", "example.com", garbledZone}, 1, []string{garbledZone + ":8:"}},
		{"malformed file for a new zone", []string{"zone", "import", "example.net", badZone}, 1, []string{badZone}},
		{"missing zone file", []string{"zone", "import", "example.com", filepath.Join(t.TempDir(), "nope.zone")}, 1, []string{"nope.zone"}},

		// Usage errors exit 2.
		{"record add without data", []string{"record", "add", "www.example.com", "A"}, 2, []string{"missing arguments", "NAME TYPE DATA"}},
		{"record delete without type", []string{"record", "delete", "www.example.com"}, 2, []string{"missing arguments"}},
		{"zone create without origin", []string{"zone", "create", "--ns", "a.example.org", "--email", "h@example.com"}, 2, []string{"missing arguments"}},
		{"zone create without ns", []string{"zone", "create", "example.net", "--email", "h@example.net"}, 2, []string{"--ns"}},
		{"zone create without email", []string{"zone", "create", "example.net", "--ns", "ns.example.org"}, 2, []string{"--email"}},
		{"zone import without file", []string{"zone", "import", "example.com"}, 2, []string{"missing arguments"}},
		{"extra argument", []string{"zone", "show", "example.com", "example.org"}, 2, []string{"too many arguments", "example.org"}},
		{"ttl without value", []string{"record", "add", "www.example.com", "A", "192.0.2.1", "--ttl"}, 2, []string{"--ttl"}},
		{"unknown flag", []string{"record", "add", "www.example.com", "A", "192.0.2.1", "--tll", "5"}, 2, []string{"tll"}},
		{"bad bool", []string{"zone", "list", "--json=maybe"}, 2, []string{"json"}},
		{"unknown command", []string{"frob"}, 2, []string{"unknown command", "frob"}},
		{"unknown subcommand", []string{"record", "frob"}, 2, []string{"unknown command", "frob"}},
		{"missing subcommand", []string{"zone"}, 2, []string{"missing command"}},
	}
	db := newDB(t)
	before := snapshot(t, db)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lbdns(t, nil, append([]string{"--db", db}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; %v", r.code, tc.code, r)
			}
			if !strings.HasPrefix(r.stderr, "lbdns: ") {
				t.Errorf("stderr %q does not start with \"lbdns: \"", r.stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr %q lacks %q", r.stderr, want)
				}
			}
			if r.stdout != "" && tc.code == 1 {
				t.Errorf("failed command printed to stdout: %q", r.stdout)
			}
			if after := snapshot(t, db); after != before {
				t.Errorf("database changed:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

// syncBuffer is a log sink shared by the admin server's goroutines and
// the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRemoteEditing holds the database the way `lbdns serve` does and
// checks that the CLI edits through the admin API instead.
func TestRemoteEditing(t *testing.T) {
	db := newDB(t)
	st, err := zones.Open(db) // takes the flock, as a server would
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Locked and no server address yet: say what is wrong.
	r := lbdns(t, nil, "--db", db, "record", "list", "example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "held by a running server") {
		t.Errorf("locked database without an admin API: %v", r)
	}

	token, err := adminapi.LoadOrCreateToken(db)
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	srv := httptest.NewServer(adminapi.NewHandler(st, token, slog.New(slog.NewTextHandler(&log, nil))))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	if err := adminapi.WriteAddr(db, addr); err != nil {
		t.Fatal(err)
	}
	defer adminapi.RemoveAddr(db)

	r = mustRun(t, db, "record", "add", "api.example.com", "A", "192.0.2.77", "--ttl", "120")
	if !strings.HasPrefix(r.stdout, "added api.example.com. 120 IN A 192.0.2.77 (example.com. serial ") {
		t.Errorf("remote record add printed %q", r.stdout)
	}
	want := zones.Record{Name: "api.example.com.", Type: "A", TTL: 120, Data: "192.0.2.77"}
	recs, err := st.ListRecords(t.Context(), "example.com.")
	if err != nil {
		t.Fatal(err)
	}
	if !hasRecord(recs, want) {
		t.Errorf("the store lacks %+v after a remote add: %+v", want, recs)
	}
	if !strings.Contains(log.String(), `msg="admin: add record" name=api.example.com`) {
		t.Errorf("the add did not go through the admin API; server log:\n%s", log.String())
	}
	if got := listRecords(t, db, "example.com"); !slices.Equal(got, recs) {
		t.Errorf("remote record list = %+v, want the store's %+v", got, recs)
	}

	// Errors keep their field, file and line across the API.
	bad := writeFile(t, "bad.zone", "$ORIGIN example.com.\n@ 300 IN SOA ns1 h 1 2 3 4 5\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.300\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"record", "add", "www.example.org", "A", "192.0.2.1"}, "www.example.org"},
		{[]string{"zone", "import", "example.com", bad}, bad + ":4:"},
		{[]string{"zone", "create", "example.com", "--ns", "ns.example.org", "--email", "h@example.com"}, "exists"},
	} {
		local := func() result {
			// The same command against an unlocked copy gives the local message.
			cp := filepath.Join(t.TempDir(), "copy.db")
			data, err := os.ReadFile(db)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cp, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return lbdns(t, nil, append([]string{"--db", cp}, tc.args...)...)
		}()
		r := lbdns(t, nil, append([]string{"--db", db}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("remote %q: %v", tc.args, r)
		}
		if r.stderr != local.stderr {
			t.Errorf("remote %q says %q, local says %q", tc.args, r.stderr, local.stderr)
		}
	}

	// --admin and LBDNS_ADMIN override a stale address file.
	if err := adminapi.WriteAddr(db, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	if r := lbdns(t, nil, "--db", db, "zone", "list"); r.code != 1 || !strings.Contains(r.stderr, "admin API at 127.0.0.1:1") {
		t.Errorf("stale address file: %v", r)
	}
	if r := lbdns(t, nil, "--db", db, "--admin", addr, "zone", "show", "example.com"); r.code != 0 {
		t.Errorf("--admin %s: %v", addr, r)
	}
	if r := lbdns(t, []string{"LBDNS_ADMIN=" + addr}, "--db", db, "record", "delete", "api.example.com", "A"); r.code != 0 {
		t.Errorf("LBDNS_ADMIN=%s: %v", addr, r)
	}
	if recs, _ := st.ListRecords(t.Context(), "example.com."); hasRecord(recs, want) {
		t.Errorf("remote record delete left %+v", want)
	}
}

package adminapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/zones"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

var (
	sampleInfo = zones.ZoneInfo{
		Origin: "example.com.", Serial: 2026112602, Records: 4,
		NS: []string{"ns1.example.com.", "ns2.other.net."}, Email: "hostmaster@example.com",
	}
	sampleRecords = []zones.Record{
		{Name: "example.com.", Type: "MX", TTL: 300, Data: "10 mail.example.com."},
		{Name: "www.example.com.", Type: "TXT", TTL: 60, Data: `"hello world" "<&>"`},
	}
	sampleExport = "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 2 3 4 5\n"
)

// newTestAPI serves a fake editor on a real loopback listener and returns
// it with a client that holds the right token.
func newTestAPI(t *testing.T, log *slog.Logger) (*fakeEditor, *Client, *httptest.Server) {
	t.Helper()
	fake := &fakeEditor{
		info:    sampleInfo,
		infos:   []zones.ZoneInfo{sampleInfo, {Origin: "other.net.", NS: []string{"ns.other.net."}}},
		text:    sampleExport,
		records: sampleRecords,
	}
	srv := httptest.NewServer(NewHandler(fake, testToken, log))
	t.Cleanup(srv.Close)
	return fake, NewClient(srv.Listener.Addr().String(), testToken), srv
}

// editorCalls is every Editor method, with the arguments the fake should
// see and the result the client should return.
var editorCalls = []struct {
	method string
	call   func(context.Context, zones.Editor) (any, error)
	args   []any
	want   any
}{
	{
		method: "CreateZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.CreateZone(ctx, zones.ZoneSpec{Origin: "example.com.", Email: "hostmaster@example.com", TTL: 3600,
				NS: []zones.NameServer{{Host: "ns1.example.com.", Addr: "192.0.2.53"}, {Host: "ns2.other.net."}}})
		},
		args: []any{zones.ZoneSpec{Origin: "example.com.", Email: "hostmaster@example.com", TTL: 3600,
			NS: []zones.NameServer{{Host: "ns1.example.com.", Addr: "192.0.2.53"}, {Host: "ns2.other.net."}}}},
		want: sampleInfo,
	},
	{
		method: "ImportZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ImportZone(ctx, "example.com.", "zones/example.com.zone", sampleExport)
		},
		args: []any{"example.com.", "zones/example.com.zone", sampleExport},
		want: sampleInfo,
	},
	{
		method: "ExportZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ExportZone(ctx, "example.com.")
		},
		args: []any{"example.com."},
		want: sampleExport,
	},
	{
		method: "DeleteZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return nil, ed.DeleteZone(ctx, "example.com.")
		},
		args: []any{"example.com."},
		want: nil,
	},
	{
		method: "ListZones",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ListZones(ctx)
		},
		args: nil,
		want: []zones.ZoneInfo{sampleInfo, {Origin: "other.net.", NS: []string{"ns.other.net."}}},
	},
	{
		method: "ShowZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ShowZone(ctx, "Example.COM")
		},
		args: []any{"Example.COM"},
		want: sampleInfo,
	},
	{
		method: "AddRecord",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.AddRecord(ctx, zones.Record{Name: "www.example.com.", Type: "TXT", TTL: 300, Data: `"a \"quoted\" string"`})
		},
		args: []any{zones.Record{Name: "www.example.com.", Type: "TXT", TTL: 300, Data: `"a \"quoted\" string"`}},
		want: sampleInfo,
	},
	{
		method: "DeleteRecord",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.DeleteRecord(ctx, zones.Record{Name: "www.example.com.", Type: "A"})
		},
		args: []any{zones.Record{Name: "www.example.com.", Type: "A"}},
		want: sampleInfo,
	},
	{
		method: "ListRecords",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ListRecords(ctx, "example.com.")
		},
		args: []any{"example.com."},
		want: sampleRecords,
	},
	{
		method: "ShowZone",
		call: func(ctx context.Context, ed zones.Editor) (any, error) {
			return ed.ShowZone(ctx, ".")
		},
		args: []any{"."},
		want: sampleInfo,
	},
}

func TestClientRoundTrip(t *testing.T) {
	fake, client, _ := newTestAPI(t, nil)
	for _, tc := range editorCalls {
		t.Run(tc.method, func(t *testing.T) {
			got, err := tc.call(t.Context(), client)
			if err != nil {
				t.Fatalf("%s: %v", tc.method, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s returned %#v, want %#v", tc.method, got, tc.want)
			}
			method, args := fake.lastCall()
			if method != tc.method || !reflect.DeepEqual(args, tc.args) {
				t.Errorf("editor saw %s%#v, want %s%#v", method, args, tc.method, tc.args)
			}
		})
	}
}

// TestClientErrors checks that every kind of error, with its field, line
// and file, reaches the caller as the *zones.Error the editor returned.
func TestClientErrors(t *testing.T) {
	errs := []struct {
		name string
		err  error
		want *zones.Error
	}{
		{"invalid", zones.Invalid("ttl", "%d is out of range", 1<<31),
			&zones.Error{Kind: zones.KindInvalid, Field: "ttl", Msg: "2147483648 is out of range"}},
		{"invalid-line", &zones.Error{Kind: zones.KindInvalid, Field: "data", Line: 12, File: "example.com.zone", Msg: `bad A "192.0.2.300"`},
			&zones.Error{Kind: zones.KindInvalid, Field: "data", Line: 12, File: "example.com.zone", Msg: `bad A "192.0.2.300"`}},
		{"not-found", zones.NotFound("no zone %q", "example.org."),
			&zones.Error{Kind: zones.KindNotFound, Msg: `no zone "example.org."`}},
		{"exists", zones.Exists("zone example.com. exists"),
			&zones.Error{Kind: zones.KindExists, Msg: "zone example.com. exists"}},
		{"internal", &zones.Error{Kind: zones.KindInternal, Msg: "bbolt: broken"},
			&zones.Error{Kind: zones.KindInternal, Msg: "bbolt: broken"}},
		{"foreign", errors.New("disk full"),
			&zones.Error{Kind: zones.KindInternal, Msg: "disk full"}},
		{"wrapped", errors.Join(errors.New("context"), zones.Invalid("name", "bad label")),
			&zones.Error{Kind: zones.KindInvalid, Field: "name", Msg: "bad label"}},
	}
	fake, client, _ := newTestAPI(t, nil)
	for _, tc := range editorCalls {
		for _, e := range errs {
			t.Run(tc.method+"/"+e.name, func(t *testing.T) {
				fake.mu.Lock()
				fake.err = e.err
				fake.mu.Unlock()
				_, err := tc.call(t.Context(), client)
				var got *zones.Error
				if !errors.As(err, &got) {
					t.Fatalf("%s error = %#v, want *zones.Error", tc.method, err)
				}
				if !reflect.DeepEqual(got, e.want) {
					t.Errorf("%s error = %#v, want %#v", tc.method, got, e.want)
				}
				if got.Error() != e.want.Error() {
					t.Errorf("message %q, want %q", got.Error(), e.want.Error())
				}
			})
		}
	}
}

func TestUnauthorized(t *testing.T) {
	_, _, srv := newTestAPI(t, nil)
	tests := []struct {
		name   string
		header string
	}{
		{"no header", ""},
		{"wrong token", "Bearer " + strings.Repeat("f", 64)},
		{"token prefix", "Bearer " + testToken[:32]},
		{"token with suffix", "Bearer " + testToken + "00"},
		{"basic scheme", "Basic " + testToken},
		{"bare token", testToken},
		{"empty bearer", "Bearer "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range []struct{ method, path, body string }{
				{"GET", "/v1/zones", ""},
				{"POST", "/v1/records", `{"name":"www.example.com.","type":"A","ttl":300,"data":"192.0.2.1"}`},
				{"DELETE", "/v1/zones/example.com.", ""},
				{"GET", "/nowhere", ""},
			} {
				req, err := http.NewRequest(route.method, srv.URL+route.path, strings.NewReader(route.body))
				if err != nil {
					t.Fatal(err)
				}
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s: status %d, want 401", route.method, route.path, resp.StatusCode)
				}
				if !bytes.Contains(body, []byte(`"kind":"invalid"`)) {
					t.Errorf("%s %s: body %s, want a JSON error", route.method, route.path, body)
				}
			}
		})
	}
}

func TestClientWrongToken(t *testing.T) {
	fake, _, srv := newTestAPI(t, nil)
	client := NewClient(srv.URL, strings.Repeat("a", 64))
	_, err := client.AddRecord(t.Context(), zones.Record{Name: "www.example.com.", Type: "A", Data: "192.0.2.1"})
	if err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Fatalf("AddRecord with a wrong token: err = %v, want a token refusal", err)
	}
	if method, _ := fake.lastCall(); method != "" {
		t.Errorf("editor was called (%s) despite the wrong token", method)
	}
}

func TestEmptyTokenAdmitsNobody(t *testing.T) {
	srv := httptest.NewServer(NewHandler(&fakeEditor{}, "", nil))
	defer srv.Close()
	if _, err := NewClient(srv.URL, "").ListZones(t.Context()); zones.KindOf(err) != zones.KindInvalid {
		t.Fatalf("ListZones with empty token on both sides: err = %v, want refusal", err)
	}
}

func TestRequestBodies(t *testing.T) {
	_, _, srv := newTestAPI(t, nil)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantText   string
	}{
		{"unknown field", "POST", "/v1/records", `{"name":"a.example.com.","bogus":1}`, 400, "unknown field"},
		{"not json", "POST", "/v1/zones", `origin=example.com`, 400, "malformed request"},
		{"trailing data", "POST", "/v1/records", `{"name":"a."} {}`, 400, "trailing data"},
		{"too big", "POST", "/v1/records", `{"data":"` + strings.Repeat("x", maxBody) + `"}`, 413, "exceeds 1048576 bytes"},
		{"import above 1 MiB is fine", "PUT", "/v1/zones/example.com./import",
			`{"filename":"big.zone","text":"` + strings.Repeat(";", 2*maxBody) + `"}`, 200, "example.com."},
		{"wrong method", "PATCH", "/v1/records", `{}`, 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantText) {
				t.Errorf("status %d body %.200q, want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantText)
			}
		})
	}
}

func TestClientHonoursContext(t *testing.T) {
	_, client, _ := newTestAPI(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := client.ListZones(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("ListZones with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestClientUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	_, err := NewClient(addr, testToken).ListZones(t.Context())
	if err == nil || !strings.Contains(err.Error(), "admin API at "+addr) {
		t.Fatalf("ListZones against a closed port: err = %v, want one naming %s", err, addr)
	}
}

func TestMutationsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	fake, client, _ := newTestAPI(t, log)
	if _, err := client.AddRecord(t.Context(), zones.Record{Name: "www.example.com.", Type: "A", TTL: 300, Data: "192.0.2.10"}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ListZones(t.Context()); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	fake.err = zones.Invalid("data", "bad IPv4 address")
	fake.mu.Unlock()
	_, _ = client.DeleteRecord(t.Context(), zones.Record{Name: "www.example.com.", Type: "A", Data: "192.0.2.300"})

	out := buf.String()
	for _, want := range []string{
		`level=INFO msg="admin: add record" name=www.example.com. type=A ttl=300 data=192.0.2.10 zone=example.com. serial=2026112602`,
		`level=WARN msg="admin: delete record refused"`,
		`err="data: bad IPv4 address"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ListZones") || strings.Count(out, "\n") != 2 {
		t.Errorf("want exactly the two mutations logged, got:\n%s", out)
	}
}

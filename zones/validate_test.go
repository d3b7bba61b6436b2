package zones

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestValidateRecord(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	tests := []struct {
		name  string
		rec   Record
		kind  Kind
		field string
		msg   string
		want  string // rr.String() on success
	}{
		{"ttl 0", Record{"www.example.com", "A", 0, "192.0.2.1"}, "", "", "", "www.example.com.\t0\tIN\tA\t192.0.2.1"},
		{"ttl max", Record{"www.example.com", "A", 2147483647, "192.0.2.1"}, "", "", "", "www.example.com.\t2147483647\tIN\tA\t192.0.2.1"},
		{"ttl too large", Record{"www.example.com", "A", 2147483648, "192.0.2.1"}, KindInvalid, "ttl", "out of range", ""},
		{"canonical name", Record{" WWW.Example.COM ", "a", 1, "192.0.2.1"}, "", "", "", "www.example.com.\t1\tIN\tA\t192.0.2.1"},
		{"apex", Record{"example.com.", "TXT", 1, `"a b" c`}, "", "", "", "example.com.\t1\tIN\tTXT\t\"a b\" \"c\""},
		{"wildcard", Record{"*.example.com", "MX", 1, "10 mx.example.net"}, "", "", "", "*.example.com.\t1\tIN\tMX\t10 mx.example.net."},
		{"aaaa normalised", Record{"v6.example.com", "AAAA", 1, "2001:DB8:0::1"}, "", "", "", "v6.example.com.\t1\tIN\tAAAA\t2001:db8::1"},
		{"outside zone", Record{"www.other.org", "A", 1, "192.0.2.1"}, KindInvalid, "name", "www.other.org. is outside zone example.com.", ""},
		{"suffix is not inside", Record{"notexample.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "outside zone", ""},
		{"empty label", Record{"a..example.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "empty label", ""},
		{"label 63", Record{long63 + ".example.com", "A", 1, "192.0.2.1"}, "", "", "", long63 + ".example.com.\t1\tIN\tA\t192.0.2.1"},
		{"label 64", Record{long63 + "a.example.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "longer than 63", ""},
		{"name too long", Record{strings.Repeat(long63+".", 4) + "example.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "longer than 255", ""},
		{"space in name", Record{"a b.example.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "whitespace", ""},
		{"utf-8 name", Record{"bücher.example.com", "A", 1, "192.0.2.1"}, KindInvalid, "name", "punycode", ""},
		{"no name", Record{"", "A", 1, "192.0.2.1"}, KindInvalid, "name", "required", ""},
		{"unknown type", Record{"www.example.com", "BOGUS", 1, "x"}, KindInvalid, "type", "unknown", ""},
		{"no type", Record{"www.example.com", "", 1, "x"}, KindInvalid, "type", "required", ""},
		{"soa", Record{"example.com", "SOA", 1, "a. b. 1 2 3 4 5"}, KindInvalid, "type", "use zone create or zone import", ""},
		{"opt", Record{"www.example.com", "OPT", 1, "x"}, KindInvalid, "type", "", ""},
		{"any", Record{"www.example.com", "ANY", 1, "x"}, KindInvalid, "type", "", ""},
		{"axfr", Record{"www.example.com", "AXFR", 1, "x"}, KindInvalid, "type", "", ""},
		{"ixfr", Record{"www.example.com", "IXFR", 1, "x"}, KindInvalid, "type", "", ""},
		{"tsig", Record{"www.example.com", "TSIG", 1, "x"}, KindInvalid, "type", "", ""},
		{"tkey", Record{"www.example.com", "TKEY", 1, "x"}, KindInvalid, "type", "", ""},
		{"maila", Record{"www.example.com", "MAILA", 1, "x"}, KindInvalid, "type", "", ""},
		{"mailb", Record{"www.example.com", "MAILB", 1, "x"}, KindInvalid, "type", "", ""},
		{"a not ipv4", Record{"www.example.com", "A", 1, "2001:db8::1"}, KindInvalid, "data", `"2001:db8::1" is not an IPv4 address`, ""},
		{"a garbage", Record{"www.example.com", "A", 1, "1.2.3.4.5"}, KindInvalid, "data", `"1.2.3.4.5"`, ""},
		{"aaaa not ipv6", Record{"www.example.com", "AAAA", 1, "192.0.2.1"}, KindInvalid, "data", `"192.0.2.1" is not an IPv6 address`, ""},
		{"empty data", Record{"www.example.com", "TXT", 1, "  "}, KindInvalid, "data", "required", ""},
		{"two lines", Record{"www.example.com", "TXT", 1, "a\nwww.example.com. 1 IN A 192.0.2.1"}, KindInvalid, "data", "single line", ""},
		{"mx parse error", Record{"www.example.com", "MX", 1, "ten mx.example.net."}, KindInvalid, "data", "bad MX Pref", ""},
		{"trailing garbage", Record{"www.example.com", "MX", 1, "10 mx.example.net. extra"}, KindInvalid, "data", "garbage", ""},
		{"srv", Record{"_sip._udp.example.com", "SRV", 1, "0 5 5060 sip.example.com."}, "", "", "", "_sip._udp.example.com.\t1\tIN\tSRV\t0 5 5060 sip.example.com."},
		{"caa", Record{"example.com", "CAA", 1, `0 issue "ca.example.net"`}, "", "", "", "example.com.\t1\tIN\tCAA\t0 issue \"ca.example.net\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr, err := ValidateRecord("example.com", tt.rec)
			wantErr(t, err, tt.kind, tt.field)
			if err != nil {
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q does not contain %q", err, tt.msg)
				}
				return
			}
			if rr.String() != tt.want {
				t.Errorf("got %q, want %q", rr.String(), tt.want)
			}
		})
	}
}

// TestRecordRoundTrip checks FromRR and Record.RR are inverses.
func TestRecordRoundTrip(t *testing.T) {
	for _, s := range []string{
		"www.example.com. 300 IN TXT \"say \\\"hi\\\"\" \"x;y\"",
		"example.com. 60 IN HTTPS 1 . alpn=\"h2\"",
		"_x.example.com. 60 IN NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:a@example.com!\" .",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := FromRR(rr).RR()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if back.String() != rr.String() {
			t.Errorf("got %q, want %q", back, rr)
		}
	}
}

func TestEmailRName(t *testing.T) {
	tests := []struct {
		email, rname string
	}{
		{"hostmaster@example.com", "hostmaster.example.com."},
		{"Host.Master@Example.COM.", `host\.master.example.com.`},
		{"a.b.c@x.example", `a\.b\.c.x.example.`},
		{"dns+admin@example.com", "dns+admin.example.com."},
	}
	for _, tt := range tests {
		rname, err := emailToRName(tt.email)
		if err != nil || rname != tt.rname {
			t.Errorf("emailToRName(%q) = %q, %v; want %q", tt.email, rname, err, tt.rname)
			continue
		}
		if back := rnameToEmail(rname); back != strings.ToLower(strings.TrimSuffix(tt.email, ".")) {
			t.Errorf("rnameToEmail(%q) = %q", rname, back)
		}
	}
	for _, bad := range []string{"", "@example.com", "a@", "a..b@example.com", ".a@example.com", "a;b@example.com", "a@b..c"} {
		if _, err := emailToRName(bad); KindOf(err) != KindInvalid {
			t.Errorf("emailToRName(%q) accepted", bad)
		}
	}
}

func TestCanonName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Example.COM", "example.com."},
		{`\065.example.com`, "a.example.com."},
		{`a\.b.example.com.`, `a\.b.example.com.`},
		{".", "."},
		{"*.Example.com", "*.example.com."},
	}
	for _, tt := range tests {
		got, err := canonName("name", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("canonName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

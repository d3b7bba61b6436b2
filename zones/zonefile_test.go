package zones

import (
	"context"
	"strings"
	"testing"
)

// richZone covers the record types whose presentation format is easiest
// to get wrong on a round trip.
const richZone = `$ORIGIN example.com.
$TTL 3600
@	IN SOA ns1 hostmaster ( 2024010101 7200 900 1209600 300 )
@	IN NS ns1
@	IN NS ns2.example.net.
@	IN MX 10 mail
@	IN MX 20 mail.example.net.
@	IN TXT "v=spf1 -all"
@	IN TXT "say \"hi\"" "two words; with semicolon"
@	IN CAA 0 issue "letsencrypt.org"
@	IN HTTPS 1 . alpn="h2,h3" ipv4hint=192.0.2.1
ns1	IN A 192.0.2.53
ns1	IN AAAA 2001:db8::53
www	300 IN A 192.0.2.1
www	300 IN A 192.0.2.2
www	300 IN AAAA 2001:db8::1
ftp	IN CNAME www
*.wild	IN A 192.0.2.7
_sip._tcp	IN SRV 10 60 5060 sip
sip	IN A 192.0.2.8
_svc	IN SVCB 1 svc.example.net. port=8443
sub	IN NS ns.sub
sub	IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub	IN A 192.0.2.99
1.2	IN PTR www
naptr	IN NAPTR 100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .
host	IN SSHFP 1 1 123456789ABCDEF67890123456789ABCDEF67890
`

func TestZoneFileRoundTrip(t *testing.T) {
	z, err := ParseZoneFile("example.com", "rich.zone", strings.NewReader(richZone))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	var first strings.Builder
	if err := WriteZoneFile(&first, z); err != nil {
		t.Fatal(err)
	}
	z2, err := ParseZoneFile("example.com.", "export", strings.NewReader(first.String()))
	if err != nil {
		t.Fatalf("re-parse of export: %v\n%s", err, first.String())
	}
	var second strings.Builder
	if err := WriteZoneFile(&second, z2); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Fatalf("round trip differs:\n%s\n---\n%s", first.String(), second.String())
	}
	if got := strings.Count(first.String(), "\n"); got != len(z.Records)+1 {
		t.Errorf("export has %d lines, want %d", got, len(z.Records)+1)
	}
	if !strings.HasPrefix(first.String(), "$ORIGIN example.com.\nexample.com.\t3600\tIN\tSOA\t") {
		t.Errorf("export does not start with $ORIGIN and the SOA:\n%s", first.String())
	}
}

// TestStoreRoundTrip checks export → import → export through the store,
// where the import also bumps the serial.
func TestStoreRoundTrip(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if _, err := s.ImportZone(ctx, "example.com", "rich.zone", richZone); err != nil {
		t.Fatalf("import: %v", err)
	}
	first := mustExport(t, s, "example.com")
	info, err := s.ImportZone(ctx, "example.com", "export", first)
	if err != nil {
		t.Fatalf("re-import: %v", err)
	}
	if info.Serial != 2024010102 {
		t.Errorf("serial after re-import = %d, want 2024010102", info.Serial)
	}
	second := mustExport(t, s, "example.com")
	want := strings.Replace(first, " 2024010101 ", " 2024010102 ", 1)
	if second != want {
		t.Fatalf("round trip differs:\n%s\n---\n%s", want, second)
	}
}

func TestParseZoneFileErrors(t *testing.T) {
	const head = "$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
	tests := []struct {
		name  string
		text  string
		line  int
		field string
		msg   string
	}{
		{"parse error", head + "\nwww A 192.0.2.300\n", 6, "", "bad A"},
		{"outside zone", head + "www.example.org. A 192.0.2.1\n", 5, "name", "www.example.org. is outside zone example.com."},
		{"outside via $ORIGIN", head + "$ORIGIN other.\n; c\nwww A 192.0.2.1\n", 7, "name", "outside zone"},
		{"include refused", head + "$INCLUDE /etc/passwd\n", 5, "", "$INCLUDE"},
		{"multi-line record", head + "www TXT ( \"a\"\n \"b\" )\nbad A 1.2.3\n", 7, "", "bad A"},
		{"second SOA", head + "@ SOA ns1 hm 1 2 3 4 5\n", 5, "type", "second SOA record (the first is at line 2)"},
		{"SOA off apex", head + "www SOA ns1 hm 1 2 3 4 5\n", 5, "type", "zone apex"},
		{"TTL too large", head + "www 2147483648 A 192.0.2.1\n", 5, "ttl", "out of range"},
		{"class", head + "www CH A 192.0.2.1\n", 5, "class", "only IN"},
		{"cname after data", head + "www A 192.0.2.1\nwww CNAME ns1\n", 6, "type", "cannot coexist"},
		{"data after cname", head + "www CNAME ns1\n\nwww TXT x\n", 7, "type", "cannot coexist"},
		{"two cnames", head + "www CNAME ns1\nwww CNAME ns2\n", 6, "type", "second CNAME"},
		{"duplicate", head + "www A 192.0.2.1\nWWW A 192.0.2.1\n", 6, "data", "duplicate record (also at line 5)"},
		{"mixed TTLs", head + "www 60 A 192.0.2.1\nwww 61 A 192.0.2.2\n", 6, "ttl", "RFC 2181"},
		{"no SOA", "$TTL 1\n@ NS ns1\n", 0, "type", "no SOA"},
		{"no apex NS", "$TTL 1\n@ SOA ns1 hm 1 2 3 4 5\nwww NS ns1\n", 0, "type", "no NS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseZoneFile("example.com", "test.zone", strings.NewReader(tt.text))
			wantErr(t, err, KindInvalid, tt.field)
			e := err.(*Error)
			if e.Line != tt.line || e.File != "test.zone" || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %s:%d %q, want test.zone:%d containing %q", e.File, e.Line, e.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestParseZoneFileTTLBounds(t *testing.T) {
	const text = "@ 0 SOA ns1 hm 1 2 3 4 5\n@ 2147483647 NS ns1\n"
	z, err := ParseZoneFile("example.com", "f", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if z.SOA().Hdr.Ttl != 0 || z.Records[1].Header().Ttl != maxTTL {
		t.Errorf("TTLs not kept: %v", z.Records)
	}
}

func TestParseZoneFileCanonicalOwners(t *testing.T) {
	const text = "$ORIGIN EXAMPLE.com.\n$TTL 1\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n\\065 A 192.0.2.1\n"
	z, err := ParseZoneFile("example.com", "f", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rr := range z.Records {
		names = append(names, rr.Header().Name)
	}
	if got := strings.Join(names, " "); got != "example.com. example.com. a.example.com." {
		t.Errorf("owners = %s", got)
	}
}

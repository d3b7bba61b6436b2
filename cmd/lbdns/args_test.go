package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/lbdns/lbdns/zones"
)

func TestHoistFlags(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		err  string
	}{
		{"ttl after args", "lbdns record add www.example.com A 192.0.2.10 --ttl 300",
			"lbdns record add --ttl 300 www.example.com A 192.0.2.10", ""},
		{"ttl=value after args", "lbdns record add www.example.com A 192.0.2.10 --ttl=60",
			"lbdns record add --ttl=60 www.example.com A 192.0.2.10", ""},
		{"ttl between args", "lbdns record add www.example.com --ttl 60 MX 10 mail.example.com.",
			"lbdns record add --ttl 60 www.example.com MX 10 mail.example.com.", ""},
		{"negative ttl value stays with its flag", "lbdns record add www A 1.2.3.4 --ttl -1",
			"lbdns record add --ttl -1 www A 1.2.3.4", ""},
		{"flags already first", "lbdns --db x.db record add --ttl 5 a A 1.2.3.4",
			"lbdns --db x.db record add --ttl 5 a A 1.2.3.4", ""},
		{"bool flag", "lbdns record list example.com --json",
			"lbdns record list --json example.com", ""},
		{"repeatable flags and global db after command", "lbdns zone create example.com --ns a.example.com=192.0.2.1 --db t.db --ns b.other.net --email h@example.com",
			"lbdns --db t.db zone create --ns a.example.com=192.0.2.1 --ns b.other.net --email h@example.com example.com", ""},
		{"global flags before command kept", "lbdns --db t.db --admin 127.0.0.1:1 zone list --json",
			"lbdns --db t.db --admin 127.0.0.1:1 zone list --json", ""},
		{"double dash ends flags", "lbdns record add x.example.com TXT --ttl 5 -- --ttl -x",
			"lbdns record add --ttl 5 -- x.example.com TXT --ttl -x", ""},
		{"data starting with dash needs --", "lbdns record add x.example.com TXT -- -v",
			"lbdns record add -- x.example.com TXT -v", ""},
		{"unknown flag left for the parser", "lbdns record add x A 1.2.3.4 --bogus",
			"lbdns record add --bogus x A 1.2.3.4", ""},
		{"help after args", "lbdns record add x --help",
			"lbdns record add --help", ""},
		{"-h among args", "lbdns zone create example.com -h --ns a.example.com",
			"lbdns zone create -h --ns a.example.com", ""},
		{"group command untouched", "lbdns zone --help", "lbdns zone --help", ""},
		{"unknown command untouched", "lbdns frob --ttl 5 x", "lbdns frob --ttl 5 x", ""},
		{"serve keeps its own --admin", "lbdns serve --admin 127.0.0.1:5380",
			"lbdns serve --admin 127.0.0.1:5380", ""},
		{"dangling value flag", "lbdns record add x A 1.2.3.4 --ttl", "",
			"flag needs an argument: --ttl"},
	}
	app := newApp(io.Discard, io.Discard)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hoistFlags(app, strings.Fields(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("hoistFlags(%q) error = %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("hoistFlags(%q): %v", tc.in, err)
			}
			if want := strings.Fields(tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("hoistFlags(%q)\n got %q\nwant %q", tc.in, got, want)
			}
		})
	}
}

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		err  string
	}{
		{"0", 0, ""},
		{"300", 300, ""},
		{"2147483647", 2147483647, ""},
		{"2147483648", 0, "ttl: 2147483648 is out of range 0..2147483647"},
		{"4294967296", 0, "out of range"},
		{"99999999999999999999", 0, "out of range"},
		{"-1", 0, "ttl: -1 is out of range"},
		{"1h", 0, `ttl: "1h" is not a whole number of seconds`},
		{"", 0, "ttl:"},
	}
	for _, tc := range tests {
		got, err := parseTTL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || zones.KindOf(err) != zones.KindInvalid {
				t.Errorf("parseTTL(%q) = %d, %v; want invalid error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTTL(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

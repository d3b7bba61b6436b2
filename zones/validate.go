package zones

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// maxTTL is the largest TTL RFC 2181 §8 allows.
const maxTTL = 2147483647

// ValidateRecord checks r as a record to add to the zone at origin and
// returns it parsed. It is the single gate for record input: AddRecord
// relies on it, and the CLI calls it to fail fast before contacting a
// server. The SOA is refused because its life cycle belongs to zone
// create and import.
func ValidateRecord(origin string, r Record) (dns.RR, error) {
	origin, err := canonName("name", origin)
	if err != nil {
		return nil, err
	}
	name, err := canonName("name", r.Name)
	if err != nil {
		return nil, err
	}
	if !zoneContains(origin, name) {
		return nil, Invalid("name", "%s is outside zone %s", name, origin)
	}
	rrtype, _, err := parseType(r.Type)
	if err != nil {
		return nil, err
	}
	if rrtype == dns.TypeSOA {
		return nil, Invalid("type", "SOA records cannot be added; use zone create or zone import")
	}
	return parseRecord(r)
}

// parseRecord validates every field of r that needs no zone context and
// parses it with the master-file parser, so the CLI and a zone file
// accept exactly the same RDATA syntax.
func parseRecord(r Record) (dns.RR, error) {
	name, err := canonName("name", r.Name)
	if err != nil {
		return nil, err
	}
	rrtype, mnemonic, err := parseType(r.Type)
	if err != nil {
		return nil, err
	}
	if err := checkTTL(r.TTL); err != nil {
		return nil, err
	}
	data, err := checkData(rrtype, r.Data)
	if err != nil {
		return nil, err
	}
	rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", name, r.TTL, mnemonic, data))
	if err != nil {
		msg, _ := parseErrorText(err, "")
		return nil, Invalid("data", "%s", msg)
	}
	if rr == nil || rr.Header().Rrtype != rrtype || rr.Header().Name != name {
		return nil, Invalid("data", "%q is not valid %s data", data, mnemonic)
	}
	if err := checkRR(rr); err != nil {
		return nil, err
	}
	return rr, nil
}

// parseType resolves a type mnemonic, refusing the meta and query types
// that cannot live in a zone.
func parseType(s string) (uint16, string, error) {
	up := strings.ToUpper(strings.TrimSpace(s))
	if up == "" {
		return 0, "", Invalid("type", "a record type is required")
	}
	t, ok := dns.StringToType[up]
	if !ok {
		return 0, "", Invalid("type", "unknown record type %q", s)
	}
	if !storableType(t) {
		return 0, "", Invalid("type", "%s is not a record type a zone can hold", up)
	}
	return t, dns.Type(t).String(), nil
}

// storableType reports whether t is a data type (RFC 6895 §3.1) rather
// than a query, transfer or transaction pseudo-type.
func storableType(t uint16) bool {
	switch t {
	case dns.TypeNone, dns.TypeReserved, dns.TypeOPT, dns.TypeANY,
		dns.TypeAXFR, dns.TypeIXFR, dns.TypeMAILA, dns.TypeMAILB,
		dns.TypeTSIG, dns.TypeTKEY:
		return false
	}
	_, known := dns.TypeToString[t]
	return known
}

func checkTTL(ttl uint32) error {
	if ttl > maxTTL {
		return Invalid("ttl", "TTL %d is out of range 0..%d", ttl, maxTTL)
	}
	return nil
}

// checkData does the checks the generic parser is too lenient for: it
// would accept empty RDATA (meant for dynamic update), read only the first
// of several lines, and take "1.2.3.4" as an AAAA.
func checkData(rrtype uint16, data string) (string, error) {
	data = strings.TrimSpace(data)
	if data == "" {
		return "", Invalid("data", "record data is required")
	}
	if strings.ContainsAny(data, "\r\n") {
		return "", Invalid("data", "record data must be a single line")
	}
	switch rrtype {
	case dns.TypeA:
		if a, err := netip.ParseAddr(data); err != nil || !a.Is4() {
			return "", Invalid("data", "%q is not an IPv4 address", data)
		}
	case dns.TypeAAAA:
		if a, err := netip.ParseAddr(data); err != nil || !a.Is6() || a.Zone() != "" {
			return "", Invalid("data", "%q is not an IPv6 address", data)
		}
	}
	return data, nil
}

// checkRR validates a parsed record the same way whether it came from the
// CLI or a zone file: storable type, IN class, TTL range, and that it packs
// into wire format, so the server can always answer with it.
func checkRR(rr dns.RR) error {
	h := rr.Header()
	if !storableType(h.Rrtype) {
		return Invalid("type", "%s is not a record type a zone can hold", dns.Type(h.Rrtype))
	}
	if h.Class != dns.ClassINET {
		return Invalid("class", "class %s is not supported; only IN", dns.Class(h.Class))
	}
	if err := checkTTL(h.Ttl); err != nil {
		return err
	}
	n := dns.Len(rr)
	if n > dns.MaxMsgSize {
		return Invalid("data", "record is %d octets; the limit is %d", n, dns.MaxMsgSize)
	}
	if _, err := dns.PackRR(rr, make([]byte, n+64), 0, nil, false); err != nil {
		return Invalid("data", "record cannot be encoded: %v", err)
	}
	return nil
}

// parseErrorText extracts the reason and line from a miekg/dns parse
// error, whose fields are unexported: its text is
// "FILE: dns: REASON: "TOKEN" at line: L:C".
func parseErrorText(err error, file string) (string, int) {
	var pe *dns.ParseError
	if !errors.As(err, &pe) {
		return err.Error(), 0
	}
	s := pe.Error()
	if file != "" {
		s = strings.TrimPrefix(s, file+": ")
	}
	s = strings.TrimPrefix(s, "dns: ")
	line := 0
	if i := strings.LastIndex(s, " at line: "); i >= 0 {
		pos := s[i+len(" at line: "):]
		s = s[:i]
		if j := strings.IndexByte(pos, ':'); j >= 0 {
			pos = pos[:j]
		}
		line, _ = strconv.Atoi(pos)
	}
	return s, line
}

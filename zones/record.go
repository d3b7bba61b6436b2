package zones

import "github.com/miekg/dns"

// RR parses r on its own, without a zone to check it against.
func (r Record) RR() (dns.RR, error) {
	return parseRecord(r)
}

// FromRR converts a parsed record to the exchange form; it is the inverse
// of Record.RR.
func FromRR(rr dns.RR) Record {
	h := rr.Header()
	return Record{Name: h.Name, Type: dns.Type(h.Rrtype).String(), TTL: h.Ttl, Data: rdataText(rr)}
}

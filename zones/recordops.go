package zones

import (
	"context"
	"strings"

	"github.com/miekg/dns"
	"go.etcd.io/bbolt"
)

// AddRecord adds one record to the zone that holds its name. Adding to an
// RRset with a different TTL moves the whole set to the new TTL, since
// RFC 2181 §5.2 forbids mixed TTLs and the newest intent wins.
func (s *Store) AddRecord(ctx context.Context, r Record) (ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return ZoneInfo{}, err
	}
	name, err := canonName("name", r.Name)
	if err != nil {
		return ZoneInfo{}, err
	}
	var info ZoneInfo
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		origin, b, err := findZone(tx, name)
		if err != nil {
			return err
		}
		rr, err := ValidateRecord(origin, r)
		if err != nil {
			return err
		}
		if isService(tx, name) {
			return Invalid("name", "%s is a load-balanced service; it holds no other records", name)
		}
		at, err := scanPrefix(b, nameKey(name))
		if err != nil {
			return err
		}
		retune, err := planAdd(rr, at)
		if err != nil {
			return err
		}
		for _, w := range append(retune, stored{recordKey(rr), rr}) {
			if err := b.Put(w.key, []byte(w.rr.String())); err != nil {
				return err
			}
		}
		info, err = committed(b, ch, origin, name)
		return err
	})
	return info, err
}

// planAdd checks rr against the records already at its owner and returns
// the members of its RRset whose TTL must change to match it.
func planAdd(rr dns.RR, at []stored) ([]stored, error) {
	h := rr.Header()
	var same []stored
	for _, s := range at {
		t := s.rr.Header().Rrtype
		switch {
		case t == h.Rrtype:
			if dns.IsDuplicate(s.rr, rr) {
				return nil, Exists("record already exists: %s", strings.ReplaceAll(s.rr.String(), "\t", " "))
			}
			same = append(same, s)
		case h.Rrtype == dns.TypeCNAME:
			return nil, Invalid("type", "%s already has %s records; a CNAME cannot coexist with other data", h.Name, dns.Type(t))
		case t == dns.TypeCNAME:
			return nil, Invalid("type", "%s is a CNAME; no other records can exist at that name", h.Name)
		}
	}
	if h.Rrtype == dns.TypeCNAME && len(same) > 0 {
		return nil, Invalid("type", "%s already has a CNAME; only one is allowed", h.Name)
	}
	var retune []stored
	for _, s := range same {
		if s.rr.Header().Ttl != h.Ttl {
			s.rr.Header().Ttl = h.Ttl
			retune = append(retune, s)
		}
	}
	return retune, nil
}

// DeleteRecord removes one record, or with empty Data the whole RRset. It
// refuses to leave the zone without its SOA or without an apex NS.
func (s *Store) DeleteRecord(ctx context.Context, r Record) (ZoneInfo, error) {
	if err := ctx.Err(); err != nil {
		return ZoneInfo{}, err
	}
	name, err := canonName("name", r.Name)
	if err != nil {
		return ZoneInfo{}, err
	}
	rrtype, mnemonic, err := parseType(r.Type)
	if err != nil {
		return ZoneInfo{}, err
	}
	if rrtype == dns.TypeSOA {
		return ZoneInfo{}, Invalid("type", "the SOA record cannot be deleted; delete the zone instead")
	}
	var target dns.RR
	if strings.TrimSpace(r.Data) != "" {
		if target, err = parseRecord(Record{Name: name, Type: mnemonic, Data: r.Data}); err != nil {
			return ZoneInfo{}, err
		}
	}
	var info ZoneInfo
	err = s.update(func(tx *bbolt.Tx, ch *changeSet) error {
		origin, b, err := findZone(tx, name)
		if err != nil {
			return err
		}
		set, err := scanPrefix(b, setKey(name, rrtype))
		if err != nil {
			return err
		}
		doomed, err := planDelete(origin, name, rrtype, set, target)
		if err != nil {
			return err
		}
		for _, d := range doomed {
			if err := b.Delete(d.key); err != nil {
				return err
			}
		}
		info, err = committed(b, ch, origin, name)
		return err
	})
	return info, err
}

// planDelete picks the records of set to remove: the one matching target
// (RDATA compared with domain names case-insensitive), or all of them.
func planDelete(origin, name string, rrtype uint16, set []stored, target dns.RR) ([]stored, error) {
	mnemonic := dns.Type(rrtype).String()
	doomed := set
	if target != nil {
		doomed = nil
		for _, s := range set {
			if dns.IsDuplicate(s.rr, target) {
				doomed = append(doomed, s)
			}
		}
		if len(doomed) == 0 {
			return nil, NotFound("no %s record %q at %s", mnemonic, rdataText(target), name)
		}
	}
	if len(doomed) == 0 {
		return nil, NotFound("no %s records at %s", mnemonic, name)
	}
	if name == origin && rrtype == dns.TypeNS && len(doomed) == len(set) {
		return nil, Invalid("type", "cannot delete the last NS record at the zone apex %s", origin)
	}
	return doomed, nil
}

// ListRecords lists the zone's records in canonical order, SOA first.
func (s *Store) ListRecords(ctx context.Context, origin string) ([]Record, error) {
	z, err := s.loadZone(ctx, origin)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(z.Records))
	for i, rr := range z.Records {
		out[i] = FromRR(rr)
	}
	return out, nil
}

// committed finishes a record edit at name: notes the change for the
// server, bumps the serial and summarises the zone.
func committed(b *bbolt.Bucket, ch *changeSet, origin, name string) (ZoneInfo, error) {
	ch.names(origin, name, origin)
	if err := bumpSerial(b, origin); err != nil {
		return ZoneInfo{}, err
	}
	return zoneInfo(b, origin)
}

package zones

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"github.com/miekg/dns"
	"go.etcd.io/bbolt"
)

// Storage layout (schema 1):
//
//	meta/schema          "1"
//	zones/<origin>/<key> rr.String()
//
// where <key> is setKey(owner, type) followed by the RDATA text, so keys
// sort by owner in canonical order, then type, and an RRset or everything
// at one owner is a prefix scan.

// maxRdataKey caps the RDATA part of a key well below bbolt's 32 KiB key
// limit; longer RDATA is cut and made unique with its hash.
const maxRdataKey = 1024

// recordKey is the record's key in its zone bucket.
func recordKey(rr dns.RR) []byte {
	k := setKey(rr.Header().Name, rr.Header().Rrtype)
	rd := rdataText(rr)
	if len(rd) <= maxRdataKey {
		return append(k, rd...)
	}
	sum := sha256.Sum256([]byte(rd))
	return append(append(k, rd[:maxRdataKey]...), sum[:]...)
}

// stored is a record read from a zone bucket, with the key it lives at.
type stored struct {
	key []byte
	rr  dns.RR
}

func putRR(b *bbolt.Bucket, rr dns.RR) error {
	if err := b.Put(recordKey(rr), []byte(rr.String())); err != nil {
		return fmt.Errorf("store %s %s: %w", rr.Header().Name, dns.Type(rr.Header().Rrtype), err)
	}
	return nil
}

func decodeRR(k, v []byte) (stored, error) {
	rr, err := dns.NewRR(string(v))
	if err != nil || rr == nil {
		return stored{}, fmt.Errorf("corrupt record %q in database: %v", v, err)
	}
	return stored{key: bytes.Clone(k), rr: rr}, nil
}

// scanPrefix reads every record whose key starts with prefix.
func scanPrefix(b *bbolt.Bucket, prefix []byte) ([]stored, error) {
	var out []stored
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		s, err := decodeRR(k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// zonesBucket is the top-level bucket, created by Open.
func zonesBucket(tx *bbolt.Tx) *bbolt.Bucket { return tx.Bucket(bucketZones) }

// zoneBucket returns the bucket of the zone at origin or KindNotFound.
func zoneBucket(tx *bbolt.Tx, origin string) (*bbolt.Bucket, error) {
	b := zonesBucket(tx).Bucket([]byte(origin))
	if b == nil {
		return nil, NotFound("zone %s not found", origin)
	}
	return b, nil
}

// findZone returns the zone holding name: the longest existing origin
// that name is at or below.
func findZone(tx *bbolt.Tx, name string) (string, *bbolt.Bucket, error) {
	zb := zonesBucket(tx)
	for _, o := range parentNames(name) {
		if b := zb.Bucket([]byte(o)); b != nil {
			return o, b, nil
		}
	}
	return "", nil, NotFound("no zone contains %s", name)
}

// loadZone reads a whole zone in canonical order.
func loadZone(b *bbolt.Bucket, origin string) (*Zone, error) {
	all, err := scanPrefix(b, nil)
	if err != nil {
		return nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	z := &Zone{Origin: origin, Records: make([]dns.RR, len(all))}
	for i, s := range all {
		z.Records[i] = s.rr
	}
	SortRecords(z.Records)
	return z, nil
}

// loadSOA reads the apex SOA, which every stored zone has.
func loadSOA(b *bbolt.Bucket, origin string) (stored, *dns.SOA, error) {
	set, err := scanPrefix(b, setKey(origin, dns.TypeSOA))
	if err != nil {
		return stored{}, nil, fmt.Errorf("zone %s: %w", origin, err)
	}
	if len(set) != 1 {
		return stored{}, nil, fmt.Errorf("zone %s: corrupt: %d SOA records", origin, len(set))
	}
	return set[0], set[0].rr.(*dns.SOA), nil
}

// bumpSerial advances the zone's serial; every committed change calls it
// so secondaries and caches notice.
func bumpSerial(b *bbolt.Bucket, origin string) error {
	s, soa, err := loadSOA(b, origin)
	if err != nil {
		return err
	}
	soa.Serial = nextSerial(soa.Serial)
	if err := b.Put(s.key, []byte(soa.String())); err != nil {
		return fmt.Errorf("zone %s: store SOA: %w", origin, err)
	}
	return nil
}

// zoneInfo summarises the zone from its bucket without loading it all.
func zoneInfo(b *bbolt.Bucket, origin string) (ZoneInfo, error) {
	_, soa, err := loadSOA(b, origin)
	if err != nil {
		return ZoneInfo{}, err
	}
	ns, err := scanPrefix(b, setKey(origin, dns.TypeNS))
	if err != nil {
		return ZoneInfo{}, fmt.Errorf("zone %s: %w", origin, err)
	}
	info := ZoneInfo{Origin: origin, Serial: soa.Serial, Email: rnameToEmail(soa.Mbox), NS: []string{}}
	for _, s := range ns {
		info.NS = append(info.NS, s.rr.(*dns.NS).Ns)
	}
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		info.Records++
	}
	return info, nil
}

// writeZone replaces the zone's bucket with z's records.
func writeZone(tx *bbolt.Tx, z *Zone) error {
	zb := zonesBucket(tx)
	if zb.Bucket([]byte(z.Origin)) != nil {
		if err := zb.DeleteBucket([]byte(z.Origin)); err != nil {
			return fmt.Errorf("zone %s: %w", z.Origin, err)
		}
	}
	b, err := zb.CreateBucket([]byte(z.Origin))
	if err != nil {
		return fmt.Errorf("zone %s: %w", z.Origin, err)
	}
	for _, rr := range z.Records {
		if err := putRR(b, rr); err != nil {
			return err
		}
	}
	return nil
}

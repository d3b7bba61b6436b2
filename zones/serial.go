package zones

import "time"

// nextSerial increments a SOA serial in RFC 1982 arithmetic, skipping 0,
// which some secondaries treat as "unset".
func nextSerial(s uint32) uint32 {
	s++
	if s == 0 {
		s = 1
	}
	return s
}

// serialLess reports a < b in RFC 1982 serial arithmetic (SERIAL_BITS 32).
// The undefined case, a distance of exactly 2^31, counts as not less.
func serialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// importSerial picks the serial for a zone replaced by an import: the
// file's serial unless that would not move secondaries forward, in which
// case one more than the old serial.
func importSerial(old, file uint32) uint32 {
	next := nextSerial(old)
	if serialLess(next, file) {
		return file
	}
	return next
}

// dateSerial is the conventional YYYYMMDD00 serial for day t (in UTC).
func dateSerial(t time.Time) uint32 {
	t = t.UTC()
	return uint32(t.Year())*1000000 + uint32(t.Month())*10000 + uint32(t.Day())*100
}

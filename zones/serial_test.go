package zones

import (
	"testing"
	"time"
)

func TestSerialArithmetic(t *testing.T) {
	if got := nextSerial(4294967295); got != 1 {
		t.Errorf("nextSerial(max) = %d, want 1 (skip 0)", got)
	}
	if got := nextSerial(41); got != 42 {
		t.Errorf("nextSerial(41) = %d", got)
	}
	tests := []struct {
		a, b uint32
		less bool
	}{
		{1, 2, true},
		{2, 1, false},
		{5, 5, false},
		{4294967295, 1, true},
		{1, 4294967295, false},
		{0, 2147483647, true},
		{0, 2147483648, false}, // undefined in RFC 1982; not less
	}
	for _, tt := range tests {
		if got := serialLess(tt.a, tt.b); got != tt.less {
			t.Errorf("serialLess(%d, %d) = %v", tt.a, tt.b, got)
		}
	}
	if got := dateSerial(time.Date(2026, 12, 31, 23, 0, 0, 0, time.FixedZone("x", -3600*5))); got != 2027010100 {
		t.Errorf("dateSerial uses UTC: got %d", got)
	}
}

package geo

import "sync/atomic"

// recordCacheSize is the number of slots in each reader's record cache. A
// busy server sees its clients concentrated on a few thousand distinct
// records (cities), which is what the cache needs to hold to make most
// lookups allocation-free; 4096 slots cost 32 KiB of pointers.
const recordCacheSize = 4096

// recordCache remembers decoded records by their offset in the data section,
// so that the next lookup landing on the same record (another client in the
// same city) neither decodes nor allocates. It is direct-mapped and lock
// free: each slot is an atomic pointer to an immutable entry, a miss decodes
// and overwrites the slot, and two goroutines racing on one slot each store
// a correct entry. Offsets are only meaningful within one database, so every
// reader gets a fresh cache.
type recordCache struct {
	slots [recordCacheSize]atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	offset uintptr
	cityRecord
}

func (c *recordCache) slot(offset uintptr) *atomic.Pointer[cacheEntry] {
	// Fibonacci hashing: records are laid out at irregular offsets, and the
	// multiply spreads them over the slots better than the low bits would.
	h := uint64(offset) * 0x9E3779B97F4A7C15
	return &c.slots[h>>(64-12)]
}

// The shift above must match the table size.
var _ [recordCacheSize - 1<<12]struct{}

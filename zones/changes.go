package zones

import (
	"sync"

	"github.com/miekg/dns"
	"go.etcd.io/bbolt"
)

// Change says what one committed write touched, so a running server can
// patch its snapshot instead of reloading every zone.
type Change struct {
	Seq      uint64
	Zone     string   // origin
	Names    []string // owner names whose records changed; the apex for a serial bump
	Whole    bool     // the zone was created, imported or deleted: reload it whole
	Services bool     // services or site admin states changed
}

// changeLogSize bounds the log; a reader that falls further behind reloads.
const changeLogSize = 4096

// changeLog keeps the most recent changes in commit order.
type changeLog struct {
	mu   sync.Mutex
	seq  uint64
	ring []Change
}

// changeSet collects a transaction's changes; they enter the log only if
// it commits.
type changeSet struct{ items []Change }

func (c *changeSet) names(origin string, names ...string) {
	c.items = append(c.items, Change{Zone: origin, Names: names})
}

func (c *changeSet) whole(origin string) {
	c.items = append(c.items, Change{Zone: origin, Whole: true})
}

// services notes a service change, and the serial bump of its zone (none
// when the zone is already gone).
func (c *changeSet) services(origin string) {
	ch := Change{Zone: origin, Services: true}
	if origin != "" {
		ch.Names = []string{origin}
	}
	c.items = append(c.items, ch)
}

func (l *changeLog) append(cs *changeSet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs.items {
		l.seq++
		c.Seq = l.seq
		l.ring = append(l.ring, c)
	}
	if over := len(l.ring) - changeLogSize; over > 0 {
		l.ring = append(l.ring[:0], l.ring[over:]...)
	}
}

// Seq is the sequence number of the latest committed change. Read it before
// loading everything, then ask ChangesSince(seq) for what came after.
func (s *Store) Seq() uint64 {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.seq
}

// ChangesSince returns the changes committed after seq and the latest
// sequence number. ok is false when the log no longer reaches back to seq:
// the caller must reload everything.
func (s *Store) ChangesSince(seq uint64) (cs []Change, last uint64, ok bool) {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if seq == s.log.seq {
		return nil, seq, true
	}
	if len(s.log.ring) == 0 || s.log.ring[0].Seq > seq+1 {
		return nil, s.log.seq, false
	}
	for _, c := range s.log.ring {
		if c.Seq > seq {
			cs = append(cs, c)
		}
	}
	return cs, s.log.seq, true
}

// LoadNames reads every record each name holds in the zone at origin
// (nothing for a name that holds none).
func (s *Store) LoadNames(origin string, names []string) (map[string][]dns.RR, error) {
	out := make(map[string][]dns.RR, len(names))
	err := s.db.View(func(tx *bbolt.Tx) error {
		b, err := zoneBucket(tx, origin)
		if err != nil {
			return err
		}
		for _, n := range names {
			at, err := scanPrefix(b, nameKey(n))
			if err != nil {
				return err
			}
			rrs := make([]dns.RR, len(at))
			for i, st := range at {
				rrs[i] = st.rr
			}
			out[n] = rrs
		}
		return nil
	})
	return out, err
}

package zones

import (
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by Open when another process (or another Open in
// this one) holds the database: bbolt takes an exclusive flock.
var ErrLocked = errors.New("database is locked by another process (is lbdns serve running?)")

// schemaVersion is bumped when the bucket layout or key encoding changes,
// so an old binary refuses a newer file instead of misreading it.
const schemaVersion = "1"

// lockTimeout is short because a held lock means a running server, and
// the CLI should say so at once rather than hang.
const lockTimeout = 200 * time.Millisecond

var (
	bucketMeta  = []byte("meta")
	bucketZones = []byte("zones")
	keySchema   = []byte("schema")
)

// Store is the bbolt-backed zone database. It implements Editor and is
// safe for concurrent use; each mutating method is one transaction.
type Store struct {
	db   *bbolt.DB
	path string
	now  func() time.Time // clock for new-zone serials; replaced in tests
	feed feed
	log  changeLog
}

var _ Editor = (*Store)(nil)

// Open opens or creates the database at path. A file locked by another
// holder gives an error matching ErrLocked; a file that is not an lbdns
// database is reported and left untouched.
func Open(path string) (*Store, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, openError(path, err)
	}
	if err := initSchema(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &Store{db: db, path: path, now: time.Now}, nil
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open %s: %w", path, ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("open %s: not a valid lbdns database (%w)", path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// initSchema creates the buckets in a new file and checks the schema
// version of an existing one. It only writes to a file with no buckets at
// all, so a foreign bbolt file is refused rather than adopted.
func initSchema(db *bbolt.DB) error {
	fresh := false
	err := db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			c := tx.Cursor()
			if k, _ := c.First(); k != nil {
				return errors.New("not an lbdns database (bbolt file without a meta bucket)")
			}
			fresh = true
			return nil
		}
		if v := string(meta.Get(keySchema)); v != schemaVersion {
			return fmt.Errorf("unsupported schema version %q (this lbdns reads %q)", v, schemaVersion)
		}
		if tx.Bucket(bucketZones) == nil {
			return errors.New("corrupt database: no zones bucket")
		}
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	return db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketZones)
		return err
	})
}

// Close releases the database and its lock.
func (s *Store) Close() error { return s.db.Close() }

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// update runs fn in one read-write transaction and, only once the commit
// has returned, tells watchers: a server that reloads on the signal must
// see the new data.
func (s *Store) update(fn func(tx *bbolt.Tx, ch *changeSet) error) error {
	var ch changeSet
	err := s.db.Update(func(tx *bbolt.Tx) error {
		ch = changeSet{}
		return fn(tx, &ch)
	})
	if err != nil {
		return err
	}
	s.log.append(&ch)
	s.feed.notify()
	return nil
}

// Watch subscribes to the change feed: the channel (capacity 1) receives a
// signal after every committed write, coalesced so a slow reader sees one
// pending signal rather than a backlog. The returned func unsubscribes; the
// channel is never closed, so a reader should stop selecting on it then.
func (s *Store) Watch() (<-chan struct{}, func()) {
	return s.feed.subscribe()
}

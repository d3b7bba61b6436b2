package geo

import (
	"context"
	"os"
	"time"
)

// DefaultWatchInterval is the polling interval Watch uses when given a
// non-positive one. GeoIP databases change weekly at most; a minute of delay
// is invisible, and a stat a minute is free.
const DefaultWatchInterval = time.Minute

// fileID is what Watch compares to notice a new database: a file renamed
// over the path changes the inode, one rewritten in place changes size or
// modification time.
type fileID struct {
	info  os.FileInfo // for os.SameFile: device and inode
	size  int64
	mtime time.Time
}

func fileIDOf(fi os.FileInfo) fileID {
	return fileID{info: fi, size: fi.Size(), mtime: fi.ModTime()}
}

func (a fileID) same(b fileID) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return a.size == b.size && a.mtime.Equal(b.mtime) && os.SameFile(a.info, b.info)
}

// Watch polls the database file every interval (DefaultWatchInterval if
// every <= 0) and reloads it when its inode, size or modification time
// changes. Polling, rather than inotify, also follows a file that is
// replaced by renaming, symlink swaps and network file systems, and costs
// one stat per interval.
//
// Watch starts its own goroutine and returns at once; it stops when ctx is
// done or the DB is closed. Each changed version of the file is tried once:
// a failed reload is logged and the old database keeps serving until the
// file changes again. Successful reloads are logged at Info, failures at
// Error, and a missing file at Warn. Watch on a nil DB does nothing.
func (d *DB) Watch(ctx context.Context, every time.Duration) {
	if d == nil {
		return
	}
	if every <= 0 {
		every = DefaultWatchInterval
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.watchers.Add(1)
	go d.watch(ctx, every)
}

func (d *DB) watch(ctx context.Context, every time.Duration) {
	defer d.watchers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	var statErr string // last stat error logged, so a missing file is reported once
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.stop:
			return
		case <-t.C:
		}
		fi, err := os.Stat(d.path)
		if err != nil {
			if err.Error() != statErr {
				statErr = err.Error()
				d.logger.Warn("geo: cannot stat GeoIP database, keeping the loaded one",
					"path", d.path, "error", err)
			}
			continue
		}
		statErr = ""
		d.poll(fileIDOf(fi))
	}
}

// poll reloads if id differs from the last version loaded or tried.
func (d *DB) poll(id fileID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || id.same(d.attempt) {
		return
	}
	start := time.Now()
	if err := d.reloadLocked(); err != nil {
		d.logger.Error("geo: GeoIP database reload failed, keeping the previous one",
			"path", d.path, "error", err)
		return
	}
	md := d.cur.Load().mm.Metadata
	d.logger.Info("geo: GeoIP database reloaded",
		"path", d.path, "type", md.DatabaseType, "build", md.BuildTime().UTC(),
		"nodes", md.NodeCount, "took", time.Since(start).Round(time.Millisecond))
}

package zones

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Held reports whether another process holds the database's lock, as a
// running server does, without waiting for it: the CLI then goes straight
// to the admin API instead of waiting out Open's lock timeout.
func Held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	return errors.Is(err, unix.EWOULDBLOCK)
}

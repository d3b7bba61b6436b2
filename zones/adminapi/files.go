package adminapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The server and the CLI find each other through two files beside the
// database, so that whoever can use the database can use the API and
// nobody else needs configuring:
//
//	DB.token  the bearer token, mode 0600; reading it is the credential
//	DB.admin  the admin API's listen address while a server runs

const (
	tokenBytes   = 32
	minTokenLen  = 32 // a hand-written token must not be trivially guessable
	maxTokenFile = 4096
)

// TokenPath is where the admin token for database db lives.
func TokenPath(db string) string { return db + ".token" }

// AddrPath is where a running server records its admin listen address.
func AddrPath(db string) string { return db + ".admin" }

// LoadOrCreateToken returns db's admin token, creating the token file (32
// random bytes, hex, mode 0600) if there is none. A token file that group
// or others can read is refused: its token is no longer a secret.
func LoadOrCreateToken(db string) (string, error) {
	path := TokenPath(db)
	tok, err := readTokenFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	tok, err = createTokenFile(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our create.
		return readTokenFile(path)
	}
	return tok, err
}

// ReadToken returns db's admin token for a client. The file must exist
// (the server creates it) and be private to its owner.
func ReadToken(db string) (string, error) {
	tok, err := readTokenFile(TokenPath(db))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w (the admin token is created by `lbdns serve`)", err)
	}
	return tok, err
}

func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("token file %s has mode %04o, so group or others can read or change it; "+
			"run `chmod 600 %s` or delete it to have a new one made", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(b) > maxTokenFile || len(tok) < minTokenLen || strings.IndexFunc(tok, notTokenChar) >= 0 {
		return "", fmt.Errorf("token file %s is malformed: want one line of at least %d printable, non-space ASCII characters", path, minTokenLen)
	}
	return tok, nil
}

func notTokenChar(r rune) bool { return r <= ' ' || r > '~' }

// createTokenFile uses O_EXCL so that two servers starting at once cannot
// each write a different token over the other's.
func createTokenFile(path string) (string, error) {
	buf := make([]byte, tokenBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	tok := hex.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(tok + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return "", fmt.Errorf("write token file %s: %w", path, err)
	}
	return tok, nil
}

// WriteAddr records the admin API's listen address for clients. It writes a
// temporary file and renames it, so a reader never sees half an address.
func WriteAddr(db, addr string) error {
	path := AddrPath(db)
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write admin address: %w", err)
	}
	_, err = f.WriteString(addr + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write admin address %s: %w", path, err)
	}
	return nil
}

// ReadAddr returns the admin address a running server recorded for db.
func ReadAddr(db string) (string, error) {
	path := AddrPath(db)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no admin address file %s: is `lbdns serve` running with this database? (or pass --admin)", path)
	}
	if err != nil {
		return "", fmt.Errorf("read admin address: %w", err)
	}
	addr := strings.TrimSpace(string(b))
	if addr == "" {
		return "", fmt.Errorf("admin address file %s is empty", path)
	}
	return addr, nil
}

// RemoveAddr deletes db's admin address file when the server stops, so a
// stale address does not send clients to whatever listens there next. A
// file that is already gone is not an error.
func RemoveAddr(db string) error {
	err := os.Remove(AddrPath(db))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove admin address: %w", err)
	}
	return nil
}

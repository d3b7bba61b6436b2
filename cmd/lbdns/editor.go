package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

// editorUse says whether a command may create the database file. Only the
// commands that make a zone may; any other against a missing file is
// almost certainly a wrong --db, and should not leave an empty file behind.
type editorUse int

const (
	existingDB editorUse = iota
	mayCreateDB
)

// backend is everything the CLI edits: the Store and the admin API client
// both implement it.
type backend interface {
	zones.Editor
	zones.ServiceEditor
}

// withEditor runs fn against the database named by --db. It opens the
// store directly when it can; when a running server holds the file's lock
// it goes through that server's admin API instead, found at --admin or in
// the address file the server wrote, with the token beside the database.
// The store is closed before withEditor returns.
func withEditor(c *cli.Context, use editorUse, fn func(zones.Editor) error) error {
	return withBackend(c, use, func(b backend, _ *adminapi.Client) error { return fn(b) })
}

// withServices is withEditor for the load-balanced service operations.
func withServices(c *cli.Context, fn func(zones.ServiceEditor) error) error {
	return withBackend(c, existingDB, func(b backend, _ *adminapi.Client) error { return fn(b) })
}

// withBackend runs fn on the store, or on the running server's API; remote
// is set in the second case, for operations only a server can answer.
func withBackend(c *cli.Context, use editorUse, fn func(b backend, remote *adminapi.Client) error) error {
	db := c.String("db")
	if use == existingDB {
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no database at %s (zone create or zone import makes one; set --db or LBDNS_DB to use another)", db)
		}
	}
	var st *zones.Store
	err := zones.ErrLocked
	if !zones.Held(db) {
		st, err = zones.Open(db)
	}
	switch {
	case err == nil:
		err = fn(st, nil)
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", db, cerr)
		}
		return err
	case errors.Is(err, zones.ErrLocked):
		client, rerr := remoteEditor(c, db)
		if rerr != nil {
			return fmt.Errorf("%s is held by a running server, and its admin API is unavailable: %w", db, rerr)
		}
		return fn(client, client)
	default:
		return err
	}
}

// remoteEditor is the admin API client for the server that holds db.
func remoteEditor(c *cli.Context, db string) (*adminapi.Client, error) {
	addr := c.String("admin")
	if addr == "" {
		var err error
		if addr, err = adminapi.ReadAddr(db); err != nil {
			return nil, err
		}
	}
	token, err := adminapi.ReadToken(db)
	if err != nil {
		return nil, err
	}
	return adminapi.NewClient(addr, token), nil
}

package main

import (
	"context"
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
)

// demoZone is served by `lbdns demo` so a newcomer sees answers at once.
//
//go:embed demo/example.com.zone
var demoZone string

// demoCommand serves the embedded demo zone from a fresh database.
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "serve an embedded demo zone (example.com) on 127.0.0.1:5353 and print dig commands to try",
		Flags: serveFlags("127.0.0.1:5353"),
		Action: func(c *cli.Context) error {
			cfg, err := serveConfig(c)
			if err != nil {
				return err
			}
			db := c.String("db")
			if !c.IsSet("db") {
				dir, err := os.MkdirTemp("", "lbdns-demo-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				db = filepath.Join(dir, "demo.db")
			}
			if err := seedDemo(c.Context, db); err != nil {
				return err
			}
			return runServer(c.Context, db, cfg, func(addrs []netip.AddrPort) { printDemoHelp(db, addrs[0]) })
		},
	}
}

// seedDemo imports the demo zone unless the database already has it.
func seedDemo(ctx context.Context, db string) error {
	st, err := zones.Open(db)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.ShowZone(ctx, "example.com."); err == nil {
		return nil
	}
	_, err = st.ImportZone(ctx, "example.com.", "demo/example.com.zone", demoZone)
	return err
}

func printDemoHelp(db string, a netip.AddrPort) {
	at := fmt.Sprintf("@%s -p %d", a.Addr(), a.Port())
	fmt.Printf(`lbdns demo: serving example.com on %s (UDP and TCP), database %s

Try, in another terminal:
  dig %s www.example.com A
  dig %s example.com SOA +norec
  dig %s ftp.example.com A          # CNAME, followed
  dig %s anything.apps.example.com  # wildcard
  dig %s nope.example.com           # NXDOMAIN with the SOA
  LBDNS_DB=%s %s record add new.example.com A 192.0.2.99   # answered at once

Press Ctrl-C to stop.
`, a, db, at, at, at, at, at, db, os.Args[0])
}

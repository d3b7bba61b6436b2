package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}

func zoneCommand() *cli.Command {
	return &cli.Command{
		Name:   "zone",
		Usage:  "create, import, export, list, show and delete zones",
		Action: groupAction,
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "create an empty zone with its SOA and NS records",
				ArgsUsage: "ORIGIN --ns HOST[=ADDR]... --email ADDRESS [--ttl SECONDS]",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "ns", Usage: "name server `HOST[=ADDR]`, with glue ADDR when HOST is inside the zone; repeatable"},
					&cli.StringFlag{Name: "email", Usage: "zone contact `ADDRESS` for the SOA"},
					&cli.StringFlag{Name: "ttl", Usage: "SOA and NS TTL in `SECONDS`", DefaultText: "3600"},
				},
				Action: zoneCreate,
			},
			{
				Name:      "import",
				Usage:     "replace a zone's records with a master file's (creating the zone if needed)",
				ArgsUsage: "ORIGIN FILE  (FILE - reads standard input)",
				Action:    zoneImport,
			},
			{
				Name:      "export",
				Usage:     "print a zone as a master file",
				ArgsUsage: "ORIGIN",
				Action:    zoneExport,
			},
			{
				Name:      "list",
				Usage:     "list zones",
				ArgsUsage: "[--json]",
				Flags:     []cli.Flag{jsonFlag},
				Action:    zoneList,
			},
			{
				Name:      "show",
				Usage:     "show a zone's summary",
				ArgsUsage: "ORIGIN [--json]",
				Flags:     []cli.Flag{jsonFlag},
				Action:    zoneShow,
			},
			{
				Name:      "delete",
				Usage:     "delete a zone and all its records",
				ArgsUsage: "ORIGIN",
				Action:    zoneDelete,
			},
		},
	}
}

func zoneCreate(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	spec := zones.ZoneSpec{Origin: c.Args().First(), Email: c.String("email")}
	if len(c.StringSlice("ns")) == 0 {
		return usagef("zone create needs at least one --ns HOST[=ADDR]")
	}
	if spec.Email == "" {
		return usagef("zone create needs --email ADDRESS")
	}
	for _, ns := range c.StringSlice("ns") {
		host, addr, _ := strings.Cut(ns, "=")
		spec.NS = append(spec.NS, zones.NameServer{Host: strings.TrimSpace(host), Addr: strings.TrimSpace(addr)})
	}
	if c.IsSet("ttl") {
		ttl, err := parseTTL(c.String("ttl"))
		if err != nil {
			return err
		}
		spec.TTL = ttl
	}
	return withEditor(c, mayCreateDB, func(ed zones.Editor) error {
		info, err := ed.CreateZone(c.Context, spec)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.App.Writer, "created zone %s (serial %d)\n", info.Origin, info.Serial)
		return err
	})
}

func zoneImport(c *cli.Context) error {
	if err := checkArgs(c, 2, 2); err != nil {
		return err
	}
	origin, file := c.Args().Get(0), c.Args().Get(1)
	text, err := readZoneFile(file)
	if err != nil {
		return err
	}
	if file == "-" {
		file = "<stdin>"
	}
	return withEditor(c, mayCreateDB, func(ed zones.Editor) error {
		info, err := ed.ImportZone(c.Context, origin, file, text)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.App.Writer, "imported %s from %s: %d records (serial %d)\n",
			info.Origin, file, info.Records, info.Serial)
		return err
	})
}

// readZoneFile reads the whole file up front, so a missing or unreadable
// file is reported before the database is touched.
func readZoneFile(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read zone file: %w", err)
	}
	return string(b), nil
}

func zoneExport(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		text, err := ed.ExportZone(c.Context, c.Args().First())
		if err != nil {
			return err
		}
		_, err = io.WriteString(c.App.Writer, text)
		return err
	})
}

func zoneList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0); err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		infos, err := ed.ListZones(c.Context)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			if infos == nil {
				infos = []zones.ZoneInfo{}
			}
			return writeJSON(c.App.Writer, infos)
		}
		return writeZoneTable(c.App.Writer, infos)
	})
}

func zoneShow(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		info, err := ed.ShowZone(c.Context, c.Args().First())
		if err != nil {
			return err
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, info)
		}
		return writeZoneInfo(c.App.Writer, info)
	})
}

func zoneDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		origin := c.Args().First()
		if err := ed.DeleteZone(c.Context, origin); err != nil {
			return err
		}
		_, err := fmt.Fprintf(c.App.Writer, "deleted zone %s\n", zones.CanonicalName(origin))
		return err
	})
}

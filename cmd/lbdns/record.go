package main

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
)

func recordCommand() *cli.Command {
	return &cli.Command{
		Name:   "record",
		Usage:  "add, delete and list records",
		Action: groupAction,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a record to the zone that contains NAME",
				ArgsUsage: "NAME TYPE DATA... [--ttl SECONDS]",
				Description: "DATA is the record data in zone-file syntax; several arguments are joined\n" +
					"with spaces:\n" +
					"   lbdns record add www.example.com A 192.0.2.10 --ttl 300\n" +
					"   lbdns record add example.com MX 10 mail.example.com.\n" +
					"   lbdns record add example.com TXT '\"hello world\"'\n" +
					"Data that starts with \"-\" goes after \"--\".",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "ttl", Value: "300", Usage: "TTL in `SECONDS`"},
				},
				Action: recordAdd,
			},
			{
				Name:      "delete",
				Usage:     "delete one record, or with no DATA every record of NAME and TYPE",
				ArgsUsage: "NAME TYPE [DATA...]",
				Action:    recordDelete,
			},
			{
				Name:      "list",
				Usage:     "list a zone's records",
				ArgsUsage: "ORIGIN [--json]",
				Flags:     []cli.Flag{jsonFlag},
				Action:    recordList,
			},
		},
	}
}

// recordFromArgs builds the record NAME TYPE DATA... names.
func recordFromArgs(c *cli.Context) zones.Record {
	args := c.Args().Slice()
	return zones.Record{
		Name: args[0],
		Type: strings.ToUpper(args[1]),
		Data: strings.Join(args[2:], " "),
	}
}

func recordAdd(c *cli.Context) error {
	if err := checkArgs(c, 3, -1); err != nil {
		return err
	}
	r := recordFromArgs(c)
	ttl, err := parseTTL(c.String("ttl"))
	if err != nil {
		return err
	}
	r.TTL = ttl
	// Parse before touching the database (or a server) so that bad input
	// fails the same way, and fast, however the store is reached.
	rr, err := r.RR()
	if err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		info, err := ed.AddRecord(c.Context, r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.App.Writer, "added %s (%s serial %d)\n", rrText(rr), info.Origin, info.Serial)
		return err
	})
}

func recordDelete(c *cli.Context) error {
	if err := checkArgs(c, 2, -1); err != nil {
		return err
	}
	r := recordFromArgs(c)
	what := fmt.Sprintf("all %s %s records", zones.CanonicalName(r.Name), r.Type)
	if r.Data != "" {
		rr, err := r.RR()
		if err != nil {
			return err
		}
		d := zones.FromRR(rr)
		what = fmt.Sprintf("%s %s %s", d.Name, d.Type, d.Data)
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		info, err := ed.DeleteRecord(c.Context, r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.App.Writer, "deleted %s (%s serial %d)\n", what, info.Origin, info.Serial)
		return err
	})
}

func recordList(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withEditor(c, existingDB, func(ed zones.Editor) error {
		recs, err := ed.ListRecords(c.Context, c.Args().First())
		if err != nil {
			return err
		}
		if c.Bool("json") {
			if recs == nil {
				recs = []zones.Record{}
			}
			return writeJSON(c.App.Writer, recs)
		}
		return writeRecordTable(c.App.Writer, recs)
	})
}

// rrText is a record in one-line zone-file form with single spaces, e.g.
// "www.example.com. 300 IN A 192.0.2.10".
func rrText(rr dns.RR) string {
	return strings.ReplaceAll(rr.String(), "\t", " ")
}

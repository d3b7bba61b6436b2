package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/lbdns/lbdns/zones"
)

// writeJSON prints v indented, without HTML escaping: TXT data with "<"
// or "&" should read as typed.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// cell keeps a value from breaking the table's columns.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
}

// writeRecordTable prints records as aligned NAME TTL TYPE DATA columns.
func writeRecordTable(w io.Writer, recs []zones.Record) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tTTL\tTYPE\tDATA")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", cell(r.Name), r.TTL, cell(r.Type), cell(r.Data))
	}
	return tw.Flush()
}

// writeZoneTable prints one line per zone.
func writeZoneTable(w io.Writer, infos []zones.ZoneInfo) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ORIGIN\tSERIAL\tRECORDS\tEMAIL\tNS")
	for _, z := range infos {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", cell(z.Origin), z.Serial, z.Records, cell(z.Email), cell(strings.Join(z.NS, ", ")))
	}
	return tw.Flush()
}

// writeZoneInfo prints one zone's summary as aligned "key: value" lines.
func writeZoneInfo(w io.Writer, z zones.ZoneInfo) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "origin:\t%s\n", z.Origin)
	fmt.Fprintf(tw, "serial:\t%d\n", z.Serial)
	fmt.Fprintf(tw, "records:\t%d\n", z.Records)
	fmt.Fprintf(tw, "email:\t%s\n", z.Email)
	fmt.Fprintf(tw, "ns:\t%s\n", strings.Join(z.NS, ", "))
	return tw.Flush()
}

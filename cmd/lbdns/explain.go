package main

import (
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"

	"github.com/miekg/dns"
	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/dnsserver"
	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:  "explain",
		Usage: "show how a load-balanced name is answered for a client, and why",
		Description: "Runs the server's own steering code. With a server running it asks that server\n" +
			"(its GeoIP database and site states); otherwise it reads the database and --geoip.\n" +
			"   lbdns explain www.lb.example.com --client 203.0.113.7\n" +
			"   lbdns explain www.lb.example.com --client 203.0.113.0/24 --type AAAA",
		ArgsUsage: "NAME --client ADDR|PREFIX [--type A|AAAA]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "client", Usage: "client `ADDR`, or an ECS prefix such as 203.0.113.0/24", Required: true},
			&cli.StringFlag{Name: "type", Value: "A", Usage: "A or AAAA"},
			&cli.StringFlag{Name: "geoip", Usage: "MaxMind City database `FILE` (when no server is running)"},
			jsonFlag,
		},
		Action: explain,
	}
}

func explain(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	client, err := parsePrefix(c.String("client"))
	if err != nil {
		return usageError{fmt.Errorf("--client: %w", err)}
	}
	qtype, ok := dns.StringToType[strings.ToUpper(c.String("type"))]
	if !ok || (qtype != dns.TypeA && qtype != dns.TypeAAAA) {
		return usagef("--type: %q is not A or AAAA", c.String("type"))
	}
	name := c.Args().First()
	var d dnsserver.Decision
	err = withBackend(c, existingDB, func(b backend, remote *adminapi.Client) error {
		if remote != nil {
			q := url.Values{"name": {name}, "client": {client.String()}, "type": {dns.TypeToString[qtype]}}
			return remote.Get(c.Context, "/v1/explain?"+q.Encode(), &d)
		}
		var err error
		d, err = explainLocal(b.(*zones.Store), c.String("geoip"), name, client, qtype)
		return err
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, d)
	}
	return writeDecision(c.App.Writer, d, client, qtype)
}

// explainLocal compiles the database as serve would and asks its steering.
func explainLocal(store *zones.Store, geoip, name string, client netip.Prefix, qtype uint16) (dnsserver.Decision, error) {
	var db *geo.DB
	if geoip != "" {
		var err error
		if db, err = geo.Open(geoip, nil); err != nil {
			return dnsserver.Decision{}, err
		}
		defer db.Close()
	}
	snap, err := compile(store, nil)
	if err != nil {
		return dnsserver.Decision{}, err
	}
	return dnsserver.New(dnsserver.Config{Geo: db}, snap).Explain(name, client, qtype)
}

func writeDecision(w io.Writer, d dnsserver.Decision, client netip.Prefix, qtype uint16) error {
	tw := newTable(w)
	fmt.Fprintf(tw, "service:\t%s (policy %s)\n", d.Service, d.Policy)
	fmt.Fprintf(tw, "client:\t%s\n", client)
	loc := "unknown"
	if d.Located {
		loc = describeLocation(d.Location)
		if codes := d.Location.Country + ", " + d.Location.Continent; d.Place != "" && d.Place != codes {
			loc += " (" + d.Place + ")"
		}
	}
	fmt.Fprintf(tw, "location:\t%s\n", loc)
	if d.Network.IsValid() {
		fmt.Fprintf(tw, "decided by:\t%s\n", d.Network)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "SITE\tSTATE\tWEIGHT\tPRIORITY\tDISTANCE\tWHY")
	for _, s := range d.Sites {
		state := "up"
		if !s.State.Up {
			state = "down"
			if s.State.Admin != zones.SiteEnabled {
				state = s.State.Admin
			}
		}
		dist := "-"
		if s.DistanceKm >= 0 {
			dist = fmt.Sprintf("%.0f km", s.DistanceKm)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, state, s.Weight, s.Priority, dist, s.Why)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w)
	if d.Fallback != "" {
		fmt.Fprintf(tw, "fallback:\t%s (no site up)\n", d.Fallback)
	}
	answer := "NODATA (SOA in authority)"
	if len(d.Addrs) > 0 {
		parts := make([]string, len(d.Addrs))
		for i, a := range d.Addrs {
			parts[i] = dns.TypeToString[qtype] + " " + a.String()
		}
		answer = strings.Join(parts, ", ")
	}
	fmt.Fprintf(tw, "answer:\t%s\n", answer)
	fmt.Fprintf(tw, "ttl:\t%d\n", d.TTL)
	fmt.Fprintf(tw, "ecs scope:\t/%d\n", d.Scope)
	return tw.Flush()
}

func describeLocation(l geo.Location) string {
	var parts []string
	if l.HasCoords {
		parts = append(parts, fmt.Sprintf("%.2f,%.2f", l.Lat, l.Lon))
	}
	if l.Country != "" {
		parts = append(parts, "country "+l.Country)
	}
	if l.Continent != "" {
		parts = append(parts, "continent "+l.Continent)
	}
	return strings.Join(parts, ", ")
}

package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/healthcheck"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show the health of every service, site and real server (from the running server)",
		ArgsUsage: "[SERVICE] [--json]",
		Flags:     []cli.Flag{jsonFlag},
		Action:    status,
	}
}

func status(c *cli.Context) error {
	if err := checkArgs(c, 0, 1); err != nil {
		return err
	}
	var st []healthcheck.ServiceStatus
	err := withBackend(c, existingDB, func(_ backend, remote *adminapi.Client) error {
		if remote == nil {
			return errors.New("no server is running on this database: health lives in lbdns serve")
		}
		return remote.Get(c.Context, "/v1/status", &st)
	})
	if err != nil {
		return err
	}
	if name := c.Args().First(); name != "" {
		want := zones.CanonicalName(name)
		var one []healthcheck.ServiceStatus
		for _, s := range st {
			if s.Service == want {
				one = append(one, s)
			}
		}
		if len(one) == 0 {
			return zones.NotFound("service %s not found", want)
		}
		st = one
	}
	if c.Bool("json") {
		if st == nil {
			st = []healthcheck.ServiceStatus{}
		}
		return writeJSON(c.App.Writer, st)
	}
	return writeStatus(c.App.Writer, st, time.Now())
}

func writeStatus(w io.Writer, st []healthcheck.ServiceStatus, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SERVICE\tSITE\tSERVER\tSTATE\tSINCE\tWEIGHT\tLAST PROBE\tERROR")
	for _, svc := range st {
		for _, site := range svc.Sites {
			state := "up"
			if !site.Up {
				state = "down"
				if site.Admin != zones.SiteEnabled {
					state = site.Admin
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t%s\t%s\t\t\t%s\n", svc.Service, site.Site, state, ago(now, site.Since), cell(site.Reason))
			for _, s := range site.Servers {
				fmt.Fprintf(tw, "\t\t%s\t%s\t%s\t%d\t%s\t%s\n", serverLabel(s), serverState(s), ago(now, s.Since),
					s.Weight, lastProbe(now, s), cell(s.LastError))
			}
		}
	}
	return tw.Flush()
}

func serverLabel(s healthcheck.ServerStatus) string {
	if s.VIPCheck {
		return s.Server + " (vip check)"
	}
	return s.Server
}

func serverState(s healthcheck.ServerStatus) string {
	switch {
	case !s.Probed:
		return "unchecked"
	case s.Healthy:
		return "healthy"
	}
	return "unhealthy"
}

func lastProbe(now time.Time, s healthcheck.ServerStatus) string {
	if !s.Probed || s.LastProbe.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s ago, %s", now.Sub(s.LastProbe).Round(time.Millisecond), s.LastLatency.Round(time.Microsecond))
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

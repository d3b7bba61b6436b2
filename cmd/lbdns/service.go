package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
)

func serviceCommand() *cli.Command {
	return &cli.Command{
		Name:   "service",
		Usage:  "apply, list, show and delete load-balanced services",
		Action: groupAction,
		Subcommands: []*cli.Command{
			{
				Name:      "apply",
				Usage:     "create or replace the services a YAML file lists (all or nothing)",
				ArgsUsage: "-f FILE",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "service `FILE` (YAML); - for standard input", Required: true}},
				Action:    serviceApply,
			},
			{Name: "list", Usage: "list services", ArgsUsage: "[--json]", Flags: []cli.Flag{jsonFlag}, Action: serviceList},
			{Name: "show", Usage: "print a service as YAML (re-applies unchanged)", ArgsUsage: "NAME", Action: serviceShow},
			{Name: "delete", Usage: "delete a service", ArgsUsage: "NAME", Action: serviceDelete},
		},
	}
}

func serviceApply(c *cli.Context) error {
	if err := checkArgs(c, 0, 0); err != nil {
		return err
	}
	name := c.String("file")
	var text []byte
	var err error
	if name == "-" {
		text, err = io.ReadAll(os.Stdin)
	} else {
		text, err = os.ReadFile(name)
	}
	if err != nil {
		return err
	}
	// Validate before reaching the store or a server, so a bad file fails
	// the same way, and at once, however the database is reached.
	if _, err := zones.ParseServices(name, string(text)); err != nil {
		return err
	}
	return withServices(c, func(se zones.ServiceEditor) error {
		infos, err := se.ApplyServices(c.Context, name, string(text))
		if err != nil {
			return err
		}
		for _, i := range infos {
			fmt.Fprintf(c.App.Writer, "applied %s (%s, %d sites, zone %s)\n", i.Name, i.Policy, len(i.Sites), i.Zone)
		}
		return nil
	})
}

func serviceList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0); err != nil {
		return err
	}
	return withServices(c, func(se zones.ServiceEditor) error {
		infos, err := se.ListServices(c.Context)
		if err != nil {
			return err
		}
		if c.Bool("json") {
			if infos == nil {
				infos = []zones.ServiceInfo{}
			}
			return writeJSON(c.App.Writer, infos)
		}
		tw := newTable(c.App.Writer)
		fmt.Fprintln(tw, "NAME\tZONE\tPOLICY\tTTL\tSITES")
		for _, i := range infos {
			sites := make([]string, len(i.Sites))
			for k, s := range i.Sites {
				sites[k] = s
				if a := i.Admin[s]; a != "" {
					sites[k] += " (" + a + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", i.Name, i.Zone, i.Policy, i.TTL, strings.Join(sites, ", "))
		}
		return tw.Flush()
	})
}

func serviceShow(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withServices(c, func(se zones.ServiceEditor) error {
		svc, err := se.ShowService(c.Context, c.Args().First())
		if err != nil {
			return err
		}
		out, err := zones.MarshalServices([]zones.Service{svc})
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(out)
		return err
	})
}

func serviceDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1); err != nil {
		return err
	}
	return withServices(c, func(se zones.ServiceEditor) error {
		if err := se.DeleteService(c.Context, c.Args().First()); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "deleted service %s\n", zones.CanonicalName(c.Args().First()))
		return nil
	})
}

func siteCommand() *cli.Command {
	states := []struct{ name, state, usage string }{
		{"drain", zones.SiteDrained, "take a site out of DNS answers (IPVS weights go to 0)"},
		{"disable", zones.SiteDisabled, "take a site out of DNS answers and stop probing it"},
		{"enable", zones.SiteEnabled, "return a drained or disabled site to service"},
	}
	cmd := &cli.Command{Name: "site", Usage: "drain, disable or enable a site of a service", Action: groupAction}
	for _, s := range states {
		state := s.state
		cmd.Subcommands = append(cmd.Subcommands, &cli.Command{
			Name: s.name, Usage: s.usage, ArgsUsage: "SERVICE SITE",
			Action: func(c *cli.Context) error { return siteSet(c, state) },
		})
	}
	return cmd
}

func siteSet(c *cli.Context, state string) error {
	if err := checkArgs(c, 2, 2); err != nil {
		return err
	}
	return withServices(c, func(se zones.ServiceEditor) error {
		st, err := se.SetSiteState(c.Context, c.Args().Get(0), c.Args().Get(1), state)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "site %s of %s is %s\n", st.Site, st.Service, st.State)
		if state != zones.SiteEnabled {
			until := time.Now().Add(time.Duration(st.TTL) * time.Second).UTC()
			fmt.Fprintf(c.App.Writer, "new answers leave it out now; resolvers may still hand out cached answers for up to %ds, until %s\n",
				st.TTL, until.Format(time.RFC3339))
		}
		return nil
	})
}

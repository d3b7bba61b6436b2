package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/ipvsbridge"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

func ipvsCommand() *cli.Command {
	directorFlag := &cli.StringSliceFlag{Name: "director", Usage: "`SITE` this host directs; repeatable"}
	return &cli.Command{
		Name:   "ipvs",
		Usage:  "inspect the IPVS director: plan, status, doctor",
		Action: groupAction,
		Subcommands: []*cli.Command{
			{
				Name:      "plan",
				Usage:     "print what reconciling would change in the kernel (a dry run)",
				ArgsUsage: "[--director SITE]... [--json]",
				Flags:     []cli.Flag{directorFlag, jsonFlag},
				Action:    ipvsPlan,
			},
			{
				Name:   "status",
				Usage:  "print the kernel's IPVS table with connection counts",
				Flags:  []cli.Flag{jsonFlag},
				Action: ipvsStatus,
			},
			{
				Name:      "doctor",
				Usage:     "check the director sysctls each forwarding mode needs (changes nothing)",
				ArgsUsage: "[--mode nat|dr|tun]...",
				Flags:     []cli.Flag{&cli.StringSliceFlag{Name: "mode", Usage: "forwarding `MODE` to check; default all"}, jsonFlag},
				Action:    ipvsDoctor,
			},
		},
	}
}

// planReply is GET /v1/ipvs/plan.
type planReply struct {
	Plan   ipvsbridge.Plan      `json:"plan"`
	Kernel []ipvsbridge.Service `json:"kernel"`
}

func ipvsPlan(c *cli.Context) error {
	if err := checkArgs(c, 0, 0); err != nil {
		return err
	}
	var reply planReply
	err := withBackend(c, existingDB, func(b backend, remote *adminapi.Client) error {
		if remote != nil {
			return remote.Get(c.Context, "/v1/ipvs/plan", &reply)
		}
		sites := c.StringSlice("director")
		if len(sites) == 0 {
			return usagef("--director SITE is needed when no server is running")
		}
		svcs, err := b.(*zones.Store).Services()
		if err != nil {
			return err
		}
		port, err := ipvsbridge.OpenKernel()
		if err != nil {
			return err
		}
		defer port.Close()
		log := warnLogger()
		rec := ipvsbridge.NewReconciler(port, log, readOwned(ownedPath(c.String("db")), log))
		reply.Plan, reply.Kernel, err = rec.Plan(c.Context, ipvsbridge.Desired(svcs, sites, nil))
		return err
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, reply)
	}
	if len(reply.Plan) == 0 {
		fmt.Fprintln(c.App.Writer, "nothing to change: the kernel matches")
	}
	for _, a := range reply.Plan {
		fmt.Fprintln(c.App.Writer, a)
	}
	return nil
}

func ipvsStatus(c *cli.Context) error {
	port, err := ipvsbridge.OpenKernel()
	if err != nil {
		return err
	}
	defer port.Close()
	svcs, err := port.Services(c.Context)
	if err != nil {
		return err
	}
	owned := readOwned(ownedPath(c.String("db")), warnLogger())
	if c.Bool("json") {
		return writeJSON(c.App.Writer, svcs)
	}
	return writeIPVSTable(c.App.Writer, svcs, owned)
}

func writeIPVSTable(w io.Writer, svcs []ipvsbridge.Service, owned []string) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "SERVICE\tSCHEDULER\tREAL SERVER\tFORWARD\tWEIGHT\tACTIVE\tINACTIVE\tOWNER")
	for _, s := range svcs {
		owner := "-"
		if slices.Contains(owned, s.Key()) {
			owner = "lbdns"
		}
		sched := s.Scheduler
		if s.Persistence > 0 {
			sched += fmt.Sprintf(" persistent %ds", s.Persistence)
		}
		fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t%s\n", s.Key(), sched, owner)
		for _, r := range s.Reals {
			fmt.Fprintf(tw, "\t\t%s\t%s\t%d\t%d\t%d\t\n", r.Key(), r.Forward, r.Weight, r.ActiveConns, r.InactiveConns)
		}
	}
	return tw.Flush()
}

func ipvsDoctor(c *cli.Context) error {
	modes := c.StringSlice("mode")
	if len(modes) == 0 {
		modes = []string{"nat", "dr", "tun"}
	}
	checks := ipvsbridge.Doctor("/proc", modes)
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, checks); err != nil {
			return err
		}
	} else {
		tw := newTable(c.App.Writer)
		fmt.Fprintln(tw, "STATUS\tMODE\tCHECK\tWANT\tGOT\tWHY")
		for _, ch := range checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ch.Status, ch.Mode, ch.Name, ch.Want, ch.Got, ch.Why)
		}
		tw.Flush()
	}
	for _, ch := range checks {
		if ch.Status == "fail" {
			return errors.New("ipvs doctor found problems (status fail above)")
		}
	}
	return nil
}

// ipvsPlanHandler serves GET /v1/ipvs/plan from the running director.
func (d *daemon) ipvsPlanHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if d.dir == nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(zones.Invalid("director", "this server directs no site (serve --director SITE)"))
		return
	}
	var reply planReply
	var err error
	reply.Plan, reply.Kernel, err = d.dir.rec.Plan(r.Context(), d.dir.want(d.checker.Weights))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(&zones.Error{Kind: zones.KindInternal, Msg: err.Error()})
		return
	}
	json.NewEncoder(w).Encode(reply)
}

// warnLogger logs warnings and errors only, keeping CLI output quiet.
func warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

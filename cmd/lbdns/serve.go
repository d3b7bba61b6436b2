package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/dnsserver"
	"github.com/lbdns/lbdns/geo"
	"github.com/lbdns/lbdns/ipvsbridge"
	"github.com/lbdns/lbdns/zones"
	"github.com/lbdns/lbdns/zones/adminapi"
)

// serveFlags are shared by serve and demo.
func serveFlags(defaultListen string) []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "listen", Value: cli.NewStringSlice(defaultListen), Usage: "DNS address (UDP and TCP); repeatable"},
		&cli.StringFlag{Name: "admin", Value: "127.0.0.1:5380", Usage: "admin API and /metrics address (loopback only)"},
		&cli.StringSliceFlag{Name: "allow-transfer", Usage: "network (CIDR) allowed to AXFR over TCP; repeatable"},
		&cli.BoolFlag{Name: "log-queries", Usage: "log every query"},
		&cli.StringFlag{Name: "geoip", Usage: "MaxMind City database `FILE` for geo steering; a replaced file is picked up"},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		&cli.DurationFlag{Name: "tcp-idle-timeout", Value: dnsserver.DefaultTCPIdleTimeout, Usage: "close idle TCP connections after this"},
		&cli.IntFlag{Name: "tcp-max-conns", Value: dnsserver.DefaultTCPMaxConns, Usage: "concurrent TCP connections; more are closed at once"},
		&cli.StringSliceFlag{Name: "director", Usage: "program this host's IPVS director for `SITE`; repeatable"},
		&cli.DurationFlag{Name: "drain-timeout", Value: ipvsbridge.DefaultDrainTimeout, Usage: "delete a removed real server after this even if it still has connections"},
		&cli.DurationFlag{Name: "ipvs-resync", Value: ipvsbridge.DefaultResync, Usage: "re-read and repair the IPVS table this often"},
	}
}

// serveCommand runs the DNS server and the admin API.
func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the database's zones over DNS, with the admin API on loopback",
		Flags: serveFlags("127.0.0.1:53"),
		Action: func(c *cli.Context) error {
			cfg, err := serveConfig(c)
			if err != nil {
				return err
			}
			return runServer(c.Context, c.String("db"), cfg, nil)
		},
	}
}

// serveOptions is what serve needs beyond dnsserver.Config.
type serveOptions struct {
	dns      dnsserver.Config
	listen   []string
	admin    string
	geoip    string
	director directorOptions
}

func serveConfig(c *cli.Context) (serveOptions, error) {
	o := serveOptions{listen: c.StringSlice("listen"), admin: c.String("admin"), geoip: c.String("geoip")}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return o, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	for _, s := range c.StringSlice("allow-transfer") {
		p, err := parsePrefix(s)
		if err != nil {
			return o, usageError{fmt.Errorf("--allow-transfer: %w", err)}
		}
		o.dns.AllowTransfer = append(o.dns.AllowTransfer, p)
	}
	if err := checkLoopback(o.admin); err != nil {
		return o, usageError{fmt.Errorf("--admin: %w", err)}
	}
	o.dns.TCPIdleTimeout = c.Duration("tcp-idle-timeout")
	o.dns.TCPMaxConns = c.Int("tcp-max-conns")
	o.dns.LogQueries = c.Bool("log-queries")
	o.dns.Logger = log
	o.director = directorOptions{sites: c.StringSlice("director"), drainTimeout: c.Duration("drain-timeout"), resync: c.Duration("ipvs-resync")}
	return o, nil
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
	}
	return p.Masked(), nil
}

// checkLoopback refuses an admin address that other hosts could reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address; the admin API listens on loopback only", addr)
	}
	return nil
}

// runServer serves db until ctx ends or a signal arrives. started, if not
// nil, is called once every socket is bound.
func runServer(ctx context.Context, db string, o serveOptions, started func(dns []netip.AddrPort)) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := o.dns.Logger
	store, err := zones.Open(db)
	if err != nil {
		if errors.Is(err, zones.ErrLocked) {
			return fmt.Errorf("%s: another lbdns serve holds this database", db)
		}
		return err
	}
	defer store.Close()
	token, err := adminapi.LoadOrCreateToken(db)
	if err != nil {
		return err
	}
	if o.geoip != "" {
		db, err := geo.Open(o.geoip, log)
		if err != nil {
			return err
		}
		defer db.Close()
		go db.Watch(ctx, geoWatchInterval)
		o.dns.Geo = db
	}
	var dir *director
	if len(o.director.sites) > 0 {
		if dir, err = newDirector(db, o.director, log); err != nil {
			return err
		}
		defer dir.port.Close()
	}
	d, err := newDaemon(store, o.dns, dir, log)
	if err != nil {
		return err
	}
	defer d.checker.Close()
	if dir != nil {
		go dir.run(ctx, d.checker.Weights, o.director.resync)
	}
	var ls []*dnsserver.Listener
	var addrs []netip.AddrPort
	for _, a := range o.listen {
		l, err := dnsserver.Listen(a)
		if err != nil {
			return err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr())
	}
	al, err := net.Listen("tcp", o.admin)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	if err := adminapi.WriteAddr(db, al.Addr().String()); err != nil {
		return err
	}
	defer adminapi.RemoveAddr(db)
	hs := &http.Server{Handler: d.adminMux(token), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(al)
	defer hs.Close()
	go d.run(ctx)
	log.Info("serving", "db", db, "dns", addrs, "admin", al.Addr().String(), "zones", len(d.srv.Snapshot().Zones()))
	if started != nil {
		started(addrs)
	}
	return d.srv.Serve(ctx, ls...)
}

// explainHandler serves GET /v1/explain?name=&client=&type= from the
// running server's snapshot and GeoIP database.
func explainHandler(srv *dnsserver.Server) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		client, err := parsePrefix(q.Get("client"))
		qtype := dns.StringToType[strings.ToUpper(q.Get("type"))]
		if err == nil && qtype != dns.TypeA && qtype != dns.TypeAAAA {
			err = fmt.Errorf("type %q is not A or AAAA", q.Get("type"))
		}
		var d dnsserver.Decision
		if err == nil {
			d, err = srv.Explain(q.Get("name"), client, qtype)
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(zones.Invalid("explain", "%v", err))
			return
		}
		json.NewEncoder(w).Encode(d)
	}
}

// geoWatchInterval is how often serve checks the GeoIP file for a new copy.
const geoWatchInterval = 2 * time.Second

// compile builds a snapshot of everything in the store, with site health
// from health (nil: no checks).
func compile(store *zones.Store, health dnsserver.SiteHealth) (*dnsserver.Snapshot, error) {
	zs, err := store.Zones()
	if err != nil {
		return nil, err
	}
	svcs, err := store.Services()
	if err != nil {
		return nil, err
	}
	return dnsserver.Compile(zs, svcs, health)
}

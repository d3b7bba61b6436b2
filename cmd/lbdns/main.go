// Command lbdns is an authoritative DNS server whose zones live in an
// embedded bbolt file, and the tool that edits them. Editing commands open
// the database directly, or, while `lbdns serve` holds it, go through the
// server's loopback admin API; they behave the same either way.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit statuses: 1 for a failed operation, 2 when the command line itself
// is wrong, as with most Unix tools.
const (
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status. Errors are
// printed here, once, as "lbdns: message".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	args, err := hoistFlags(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "lbdns: %v\n", err)
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailure
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "lbdns",
		HelpName:  "lbdns",
		Usage:     "authoritative DNS server with its zones in an embedded database",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name: "db", Value: "lbdns.db", EnvVars: []string{"LBDNS_DB"},
				Usage: "database `FILE`",
			},
			&cli.StringFlag{
				Name: "admin", EnvVars: []string{"LBDNS_ADMIN"},
				Usage: "admin API `ADDR` of the server holding the database (default: read from FILE.admin)",
			},
		},
		Commands: []*cli.Command{
			zoneCommand(),
			recordCommand(),
			serviceCommand(),
			siteCommand(),
			explainCommand(),
			statusCommand(),
			ipvsCommand(),
			serveCommand(),
			demoCommand(),
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown command %q (see lbdns --help)", c.Args().First())
			}
			_ = cli.ShowAppHelp(c)
			return usagef("missing command")
		},
		// run prints errors and picks the status; urfave must not exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
	}
	setUsageHandlers(app.Commands)
	return app
}

// groupAction is the action of a command that only holds subcommands: it
// runs when the subcommand is missing or unknown.
func groupAction(c *cli.Context) error {
	var names []string
	for _, sub := range c.Command.Subcommands {
		if sub.Name != "help" {
			names = append(names, sub.Name)
		}
	}
	if c.Args().Present() {
		return usagef("%s: unknown command %q; want one of %v (see %s --help)",
			c.Command.Name, c.Args().First(), names, c.Command.HelpName)
	}
	return usagef("%s: missing command; want one of %v (see %s --help)",
		c.Command.Name, names, c.Command.HelpName)
}

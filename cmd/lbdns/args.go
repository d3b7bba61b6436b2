package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lbdns/lbdns/zones"
)

// maxTTL is the largest TTL RFC 2181 §8 allows.
const maxTTL = 2147483647

// usageError marks a malformed command line, as opposed to a failed
// operation: run exits 2 for it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// onUsageError turns urfave's flag-parsing errors into usage errors
// instead of letting it print the whole help text.
func onUsageError(c *cli.Context, err error, _ bool) error {
	name := "lbdns"
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return usageError{fmt.Errorf("%w (see %s --help)", err, name)}
}

func setUsageHandlers(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		setUsageHandlers(c.Subcommands)
	}
}

// checkArgs enforces a command's positional argument count; max < 0 means
// no upper bound. The message repeats the synopsis so no second look-up is
// needed.
func checkArgs(c *cli.Context, min, max int) error {
	n := c.NArg()
	switch {
	case n < min:
		return usagef("missing arguments; usage: %s %s", c.Command.HelpName, c.Command.ArgsUsage)
	case max >= 0 && n > max:
		return usagef("too many arguments (%q is extra); usage: %s %s",
			c.Args().Get(max), c.Command.HelpName, c.Command.ArgsUsage)
	}
	return nil
}

// parseTTL reads a --ttl value. It parses as int64 first so that "-1" and
// "2147483648" get a range error naming the limits rather than a syntax
// error, and never wrap around into uint32.
func parseTTL(s string) (uint32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, zones.Invalid("ttl", "%s is out of range 0..%d", s, maxTTL)
	}
	if err != nil {
		return 0, zones.Invalid("ttl", "%q is not a whole number of seconds", s)
	}
	if n < 0 || n > maxTTL {
		return 0, zones.Invalid("ttl", "%d is out of range 0..%d", n, maxTTL)
	}
	return uint32(n), nil
}

// hoistFlags lets flags follow positional arguments, as in
// `lbdns record add www.example.com A 192.0.2.10 --ttl 300`. urfave/cli v2
// (like package flag) stops parsing flags at the first positional
// argument, so the command line is rewritten before the app sees it: the
// chosen leaf command's flags, with their values, move in front of its
// positional arguments, and global flags written after the command move in
// front of it. "--" still ends the flags. Which flags exist, and which take
// a value, is read from the app itself, so new flags need no change here.
//
// Flags the command does not know are kept among the flags, for the parser
// to reject; an argument starting with "-" that is data belongs after "--".
func hoistFlags(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	global := flagArity(app.Flags)
	head := []string{args[0]}
	i := 1
	for i < len(args) && isFlag(args[i]) {
		n := flagLen(args, i, global)
		head = append(head, args[i:i+n]...)
		i += n
	}

	var path []string
	var leaf *cli.Command
	for cmds := app.Commands; i < len(args) && cmds != nil; {
		cmd := findCommand(cmds, args[i])
		if cmd == nil {
			break
		}
		path = append(path, args[i])
		i++
		leaf, cmds = cmd, cmd.Subcommands
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return args, nil // no leaf command: nothing of ours to reorder
	}

	local := flagArity(leaf.Flags)
	var flags, moved, positional []string
	dashdash := false
	for i < len(args) {
		a := args[i]
		if a == "--" {
			dashdash = true
			positional = append(positional, args[i+1:]...)
			break
		}
		if !isFlag(a) {
			positional = append(positional, a)
			i++
			continue
		}
		name, _ := flagName(a)
		dst := &flags
		arity := local
		if _, ok := local[name]; !ok {
			if _, ok := global[name]; ok {
				dst, arity = &moved, global
			}
		}
		n := flagLen(args, i, arity)
		if n == 1 && arity[name] && !strings.Contains(a, "=") {
			// Moved in front of the positionals, it would swallow one.
			return nil, usagef("flag needs an argument: %s (see lbdns %s --help)", a, strings.Join(path, " "))
		}
		*dst = append(*dst, args[i:i+n]...)
		i += n
	}

	out := append(append(append(head, moved...), path...), flags...)
	if slices.ContainsFunc(flags, isHelpFlag) {
		// urfave reads arguments after --help as a help topic; the user
		// wants this command's help whatever else is on the line.
		return out, nil
	}
	if len(positional) > 0 {
		if dashdash || anyFlagLike(positional) {
			out = append(out, "--")
		}
		out = append(out, positional...)
	}
	return out, nil
}

// flagArity maps every name and alias of flags to whether it takes a
// value. help is added by urfave at run time, so it is listed here.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		takes := true
		if d, ok := f.(cli.DocGenerationFlag); ok {
			takes = d.TakesValue()
		}
		for _, n := range f.Names() {
			m[n] = takes
		}
	}
	return m
}

// flagLen is how many arguments the flag at args[i] occupies: two for a
// value flag written "--ttl 300", else one.
func flagLen(args []string, i int, arity map[string]bool) int {
	name, hasValue := flagName(args[i])
	if arity[name] && !hasValue && i+1 < len(args) {
		return 2
	}
	return 1
}

func isHelpFlag(a string) bool {
	name, _ := flagName(a)
	return name == "help" || name == "h"
}

func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' }

func anyFlagLike(args []string) bool {
	for _, a := range args {
		if isFlag(a) {
			return true
		}
	}
	return false
}

// flagName strips "-" or "--" and any "=value", as package flag does.
func flagName(a string) (name string, hasValue bool) {
	a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	name, _, hasValue = strings.Cut(a, "=")
	return name, hasValue
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

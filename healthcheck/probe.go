package healthcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxBody bounds how much of an HTTP response a probe reads for the body
// substring check.
const maxBody = 64 << 10

// execWaitDelay is how long an exec probe waits for the output pipe to
// close after its command has exited or been killed.
const execWaitDelay = 250 * time.Millisecond

// prober runs one probe; a nil error means the target passed.
type prober func(ctx context.Context, t *Target) error

// proberFor returns the probe function for a spec's kind.
func proberFor(s Spec) prober {
	switch s.Kind {
	case "http", "https":
		return newHTTPProbe(s)
	case "dns":
		return probeDNS
	case "exec":
		return probeExec
	default:
		return probeTCP
	}
}

// probeTCP passes when a TCP connection opens within the timeout.
func probeTCP(ctx context.Context, t *Target) error {
	// No TCP keepalive: the connection is closed at once, and setting it
	// up costs four setsockopt calls per probe.
	d := net.Dialer{KeepAlive: -1}
	c, err := d.DialContext(ctx, "tcp", t.Probe.String())
	if err != nil {
		return cleanNetErr(err)
	}
	return c.Close()
}

// newHTTPProbe builds a GET (or the configured method) to the path, with
// TLS verification on unless the spec says insecure. Connections are not
// reused: every probe exercises a fresh connect, as a client would.
func newHTTPProbe(s Spec) prober {
	tr := &http.Transport{
		DisableKeepAlives: true,
		Proxy:             nil,
		// SNI and verification follow the Host header when one is set.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: s.Insecure, ServerName: hostOnly(s.Host)},
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(ctx context.Context, t *Target) error {
		url := s.Kind + "://" + t.Probe.String() + s.Path
		req, err := http.NewRequestWithContext(ctx, s.Method, url, nil)
		if err != nil {
			return err
		}
		req.Host = s.Host
		resp, err := client.Do(req)
		if err != nil {
			var ue interface{ Unwrap() error }
			if errors.As(err, &ue) && ue.Unwrap() != nil {
				err = ue.Unwrap()
			}
			return cleanNetErr(err)
		}
		defer resp.Body.Close()
		if !slices.Contains(s.Expect, resp.StatusCode) {
			return fmt.Errorf("HTTP status %d, want %v", resp.StatusCode, s.Expect)
		}
		if s.Body != "" {
			b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
			if err != nil {
				return err
			}
			if !bytes.Contains(b, []byte(s.Body)) {
				return fmt.Errorf("body lacks %q", s.Body)
			}
		}
		return nil
	}
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// probeDNS passes on NOERROR with at least one answer record.
func probeDNS(ctx context.Context, t *Target) error {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(t.Spec.Query), dns.StringToType[t.Spec.QueryType])
	c := &dns.Client{Net: "udp", Timeout: t.Spec.Timeout}
	r, _, err := c.ExchangeContext(ctx, m, t.Probe.String())
	if err != nil {
		return cleanNetErr(err)
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("DNS rcode %s", dns.RcodeToString[r.Rcode])
	}
	if len(r.Answer) == 0 {
		return errors.New("DNS answer is empty")
	}
	return nil
}

// probeExec runs the command with the target's address and port appended;
// exit status 0 passes.
func probeExec(ctx context.Context, t *Target) error {
	args := append(slices.Clone(t.Spec.Command[1:]), t.Probe.Addr().String(), strconv.Itoa(int(t.Probe.Port())))
	cmd := exec.CommandContext(ctx, t.Spec.Command[0], args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Killing the command does not kill what it started (sh -c 'sleep 9'
	// leaves sleep holding the output pipe): stop waiting for the pipe
	// shortly after the command exits or the timeout kills it.
	cmd.WaitDelay = execWaitDelay
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("command timed out after %s", t.Spec.Timeout)
		}
		msg := strings.TrimSpace(out.String())
		if len(msg) > 200 {
			msg = msg[:200]
		}
		if msg != "" {
			return fmt.Errorf("%v: %s", err, msg)
		}
		return err
	}
	return nil
}

// cleanNetErr drops the repetitive "dial tcp ...:" prefix where the
// cause alone says it.
func cleanNetErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("%s: %w", op.Op, op.Err)
	}
	return err
}

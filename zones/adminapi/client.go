package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lbdns/lbdns/zones"
)

// Per-call time limits, applied on top of the caller's context. Ordinary
// calls touch one zone and return at once; import and export move a whole
// zone file and may legitimately take minutes.
const (
	callTimeout = 30 * time.Second
	bulkTimeout = 10 * time.Minute
)

// Response size limits: an error is a short JSON object; a result can be a
// whole zone.
const (
	maxErrorResponse  = 1 << 20
	maxResultResponse = 1 << 30
)

// Client is a zones.Editor that forwards every call to a running server's
// admin API. Errors the server reports come back as the same *zones.Error
// (kind, field, line, file and message), so the CLI prints them exactly as
// it would have locally; transport failures are wrapped plain errors, so
// errors.Is(err, context.Canceled) and the like still work.
type Client struct {
	base  string // "http://127.0.0.1:8053", no trailing slash
	addr  string // as given, for messages
	token string
	hc    *http.Client
}

var _ zones.Editor = (*Client)(nil)

// NewClient returns a client for the admin API at addr ("host:port", or a
// full "http://host:port" URL) that authenticates with token.
func NewClient(addr, token string) *Client {
	base := strings.TrimRight(addr, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &Client{
		base:  base,
		addr:  addr,
		token: token,
		hc: &http.Client{
			Transport: &http.Transport{
				Proxy: nil, // the API is on loopback; never route the token via a proxy
				DialContext: (&net.Dialer{
					Timeout:   5 * time.Second,
					KeepAlive: 30 * time.Second,
				}).DialContext,
				MaxIdleConns:    2,
				IdleConnTimeout: 30 * time.Second,
			},
			// Following a redirect could send the token somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

func (c *Client) CreateZone(ctx context.Context, spec zones.ZoneSpec) (zones.ZoneInfo, error) {
	var info zones.ZoneInfo
	err := c.call(ctx, callTimeout, http.MethodPost, "/v1/zones", spec, &info)
	return info, err
}

func (c *Client) ImportZone(ctx context.Context, origin, filename, text string) (zones.ZoneInfo, error) {
	var info zones.ZoneInfo
	err := c.call(ctx, bulkTimeout, http.MethodPut, zonePath(origin, "/import"),
		importRequest{Filename: filename, Text: text}, &info)
	return info, err
}

func (c *Client) ExportZone(ctx context.Context, origin string) (string, error) {
	var text string
	err := c.call(ctx, bulkTimeout, http.MethodGet, zonePath(origin, "/export"), nil, &text)
	return text, err
}

func (c *Client) DeleteZone(ctx context.Context, origin string) error {
	return c.call(ctx, callTimeout, http.MethodDelete, zonePath(origin, ""), nil, nil)
}

func (c *Client) ListZones(ctx context.Context) ([]zones.ZoneInfo, error) {
	var infos []zones.ZoneInfo
	err := c.call(ctx, callTimeout, http.MethodGet, "/v1/zones", nil, &infos)
	return infos, err
}

func (c *Client) ShowZone(ctx context.Context, origin string) (zones.ZoneInfo, error) {
	var info zones.ZoneInfo
	err := c.call(ctx, callTimeout, http.MethodGet, zonePath(origin, ""), nil, &info)
	return info, err
}

func (c *Client) AddRecord(ctx context.Context, r zones.Record) (zones.ZoneInfo, error) {
	var info zones.ZoneInfo
	err := c.call(ctx, callTimeout, http.MethodPost, "/v1/records", r, &info)
	return info, err
}

func (c *Client) DeleteRecord(ctx context.Context, r zones.Record) (zones.ZoneInfo, error) {
	var info zones.ZoneInfo
	err := c.call(ctx, callTimeout, http.MethodPost, "/v1/records/delete", r, &info)
	return info, err
}

func (c *Client) ListRecords(ctx context.Context, origin string) ([]zones.Record, error) {
	var recs []zones.Record
	err := c.call(ctx, bulkTimeout, http.MethodGet, zonePath(origin, "/records"), nil, &recs)
	return recs, err
}

// zonePath escapes origin into one path segment. The root zone's "." would
// be removed by path cleaning, so it travels percent-encoded.
func zonePath(origin, suffix string) string {
	seg := url.PathEscape(origin)
	if origin == "." {
		seg = "%2E"
	}
	return "/v1/zones/" + seg + suffix
}

// call sends in (JSON, unless nil) and decodes a 2xx response into out: a
// *string receives the body as text, anything else is JSON-decoded, nil
// discards it. A non-2xx response becomes a *zones.Error.
func (c *Client) call(ctx context.Context, timeout time.Duration, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin API: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", c.addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error repeats method and URL; the cause is what matters.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("admin API at %s: %w", c.addr, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.responseError(resp)
	}
	if out == nil {
		return nil
	}
	r := io.LimitReader(resp.Body, maxResultResponse)
	if s, ok := out.(*string); ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("admin API at %s: read response: %w", c.addr, err)
		}
		*s = string(b)
		return nil
	}
	if err := json.NewDecoder(r).Decode(out); err != nil {
		return fmt.Errorf("admin API at %s: decode response: %w", c.addr, err)
	}
	return nil
}

// responseError rebuilds the server's *zones.Error, or makes one from the
// status when the body is not one (a 405 from the mux, say).
func (c *Client) responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorResponse))
	var ze zones.Error
	if json.Unmarshal(b, &ze) != nil || ze.Msg == "" {
		ze = zones.Error{
			Kind: kindForStatus(resp.StatusCode),
			Msg:  fmt.Sprintf("admin API at %s: %s: %s", c.addr, resp.Status, strings.TrimSpace(string(b))),
		}
	}
	if ze.Kind == "" {
		ze.Kind = kindForStatus(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		ze.Msg = fmt.Sprintf("admin API at %s refused the token (%s); is the token file the running server's?", c.addr, ze.Msg)
	}
	return &ze
}

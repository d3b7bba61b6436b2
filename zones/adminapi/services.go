package adminapi

import (
	"context"
	"net/http"
	"net/url"

	"github.com/lbdns/lbdns/zones"
)

// applyRequest is the body of POST /v1/services.
type applyRequest struct {
	Filename string `json:"filename"`
	Text     string `json:"text"` // the YAML service file
}

// siteRequest is the body of PUT /v1/services/{name}/sites/{site}.
type siteRequest struct {
	State string `json:"state"`
}

// Option adds to the handler's routes.
type Option func(*handler)

// WithServices serves the load-balanced service operations of se.
func WithServices(se zones.ServiceEditor) Option {
	return func(h *handler) {
		h.mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
			infos, err := se.ListServices(r.Context())
			if infos == nil {
				infos = []zones.ServiceInfo{}
			}
			h.reply(w, r, infos, err)
		})
		h.mux.HandleFunc("POST /v1/services", func(w http.ResponseWriter, r *http.Request) {
			var req applyRequest
			if !decodeBody(w, r, maxBody*16, &req) {
				return
			}
			infos, err := se.ApplyServices(r.Context(), req.Filename, req.Text)
			attrs := []any{"file", req.Filename}
			if err == nil {
				attrs = append(attrs, "services", len(infos))
			}
			h.audit(r, "apply services", err, attrs...)
			h.reply(w, r, infos, err)
		})
		h.mux.HandleFunc("GET /v1/services/{name}", func(w http.ResponseWriter, r *http.Request) {
			svc, err := se.ShowService(r.Context(), r.PathValue("name"))
			h.reply(w, r, svc, err)
		})
		h.mux.HandleFunc("DELETE /v1/services/{name}", func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("name")
			err := se.DeleteService(r.Context(), name)
			h.audit(r, "delete service", err, "service", name)
			h.reply(w, r, struct{}{}, err)
		})
		h.mux.HandleFunc("PUT /v1/services/{name}/sites/{site}", func(w http.ResponseWriter, r *http.Request) {
			var req siteRequest
			if !decodeBody(w, r, maxBody, &req) {
				return
			}
			st, err := se.SetSiteState(r.Context(), r.PathValue("name"), r.PathValue("site"), req.State)
			h.audit(r, "site "+req.State, err, "service", r.PathValue("name"), "site", r.PathValue("site"))
			h.reply(w, r, st, err)
		})
	}
}

// WithRoute serves an extra authenticated route (e.g. explain, status),
// for operations that belong to the running server rather than the store.
func WithRoute(pattern string, fn http.HandlerFunc) Option {
	return func(h *handler) { h.mux.HandleFunc(pattern, fn) }
}

// reply writes v as JSON, or the error.
func (h *handler) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

var _ zones.ServiceEditor = (*Client)(nil)

func (c *Client) ApplyServices(ctx context.Context, filename, text string) ([]zones.ServiceInfo, error) {
	var infos []zones.ServiceInfo
	err := c.call(ctx, bulkTimeout, http.MethodPost, "/v1/services", applyRequest{filename, text}, &infos)
	return infos, err
}

func (c *Client) ListServices(ctx context.Context) ([]zones.ServiceInfo, error) {
	var infos []zones.ServiceInfo
	err := c.call(ctx, callTimeout, http.MethodGet, "/v1/services", nil, &infos)
	return infos, err
}

func (c *Client) ShowService(ctx context.Context, name string) (zones.Service, error) {
	var svc zones.Service
	err := c.call(ctx, callTimeout, http.MethodGet, "/v1/services/"+url.PathEscape(name), nil, &svc)
	return svc, err
}

func (c *Client) DeleteService(ctx context.Context, name string) error {
	return c.call(ctx, callTimeout, http.MethodDelete, "/v1/services/"+url.PathEscape(name), nil, nil)
}

func (c *Client) SetSiteState(ctx context.Context, service, site, state string) (zones.SiteState, error) {
	var st zones.SiteState
	path := "/v1/services/" + url.PathEscape(service) + "/sites/" + url.PathEscape(site)
	err := c.call(ctx, callTimeout, http.MethodPut, path, siteRequest{state}, &st)
	return st, err
}

// Get calls an extra GET route (see WithRoute) and decodes its JSON.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.call(ctx, callTimeout, http.MethodGet, path, nil, out)
}

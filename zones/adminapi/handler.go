// Package adminapi is lbdns's loopback admin API. A running `lbdns serve`
// holds the bbolt file's exclusive lock, so the CLI cannot open the store
// itself; instead the server exposes its zones.Editor over JSON/HTTP on a
// loopback address, and Client implements zones.Editor on top of it. CLI
// commands therefore run unchanged, and print the same messages, whether
// they reach the store directly or through the server.
//
// Every request carries `Authorization: Bearer TOKEN`, where TOKEN is the
// content of the 0600 file beside the database (see LoadOrCreateToken):
// being able to read that file is what makes a user an administrator.
package adminapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lbdns/lbdns/zones"
)

// Request body limits. A zone file may be large, so import gets room for
// one; anything else is a handful of short strings.
const (
	maxBody       = 1 << 20
	maxImportBody = 256 << 20
)

// importRequest is the body of PUT /v1/zones/{origin}/import.
type importRequest struct {
	Filename string `json:"filename"` // for error messages only
	Text     string `json:"text"`     // RFC 1035 master file
}

type handler struct {
	ed        zones.Editor
	tokenHash [sha256.Size]byte
	noToken   bool // an empty token would let anyone in: refuse everyone
	log       *slog.Logger
	mux       *http.ServeMux
}

// NewHandler serves ed's operations as the v1 admin API, admitting only
// requests that present token. log receives one line per mutating call
// (nil discards).
func NewHandler(ed zones.Editor, token string, log *slog.Logger, opts ...Option) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		ed:        ed,
		tokenHash: sha256.Sum256([]byte(token)),
		noToken:   token == "",
		log:       log,
		mux:       http.NewServeMux(),
	}
	h.mux.HandleFunc("GET /v1/zones", h.listZones)
	h.mux.HandleFunc("POST /v1/zones", h.createZone)
	h.mux.HandleFunc("GET /v1/zones/{origin}", h.showZone)
	h.mux.HandleFunc("DELETE /v1/zones/{origin}", h.deleteZone)
	h.mux.HandleFunc("PUT /v1/zones/{origin}/import", h.importZone)
	h.mux.HandleFunc("GET /v1/zones/{origin}/export", h.exportZone)
	h.mux.HandleFunc("GET /v1/zones/{origin}/records", h.listRecords)
	h.mux.HandleFunc("POST /v1/records", h.addRecord)
	h.mux.HandleFunc("POST /v1/records/delete", h.deleteRecord)
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="lbdns-admin"`)
		writeJSON(w, http.StatusUnauthorized, zones.Invalid("token", "missing or wrong bearer token"))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// authorized compares hashes so the comparison is constant-time in the
// token's content and its length alike.
func (h *handler) authorized(r *http.Request) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || h.noToken {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) == 1
}

func (h *handler) listZones(w http.ResponseWriter, r *http.Request) {
	infos, err := h.ed.ListZones(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if infos == nil {
		infos = []zones.ZoneInfo{}
	}
	writeJSON(w, http.StatusOK, infos)
}

func (h *handler) showZone(w http.ResponseWriter, r *http.Request) {
	info, err := h.ed.ShowZone(r.Context(), r.PathValue("origin"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (h *handler) createZone(w http.ResponseWriter, r *http.Request) {
	var spec zones.ZoneSpec
	if !decodeBody(w, r, maxBody, &spec) {
		return
	}
	info, err := h.ed.CreateZone(r.Context(), spec)
	if err != nil {
		h.audit(r, "create zone", err, "zone", spec.Origin)
		h.fail(w, r, err)
		return
	}
	h.audit(r, "create zone", nil, "zone", info.Origin, "serial", info.Serial)
	writeJSON(w, http.StatusCreated, info)
}

func (h *handler) deleteZone(w http.ResponseWriter, r *http.Request) {
	origin := r.PathValue("origin")
	err := h.ed.DeleteZone(r.Context(), origin)
	h.audit(r, "delete zone", err, "zone", origin)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) importZone(w http.ResponseWriter, r *http.Request) {
	var req importRequest
	if !decodeBody(w, r, maxImportBody, &req) {
		return
	}
	origin := r.PathValue("origin")
	info, err := h.ed.ImportZone(r.Context(), origin, req.Filename, req.Text)
	if err != nil {
		h.audit(r, "import zone", err, "zone", origin, "file", req.Filename)
		h.fail(w, r, err)
		return
	}
	h.audit(r, "import zone", nil, "zone", info.Origin, "file", req.Filename,
		"records", info.Records, "serial", info.Serial)
	writeJSON(w, http.StatusOK, info)
}

func (h *handler) exportZone(w http.ResponseWriter, r *http.Request) {
	text, err := h.ed.ExportZone(r.Context(), r.PathValue("origin"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(text))
}

func (h *handler) listRecords(w http.ResponseWriter, r *http.Request) {
	recs, err := h.ed.ListRecords(r.Context(), r.PathValue("origin"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if recs == nil {
		recs = []zones.Record{}
	}
	writeJSON(w, http.StatusOK, recs)
}

func (h *handler) addRecord(w http.ResponseWriter, r *http.Request) {
	h.editRecord(w, r, "add record", h.ed.AddRecord)
}

func (h *handler) deleteRecord(w http.ResponseWriter, r *http.Request) {
	h.editRecord(w, r, "delete record", h.ed.DeleteRecord)
}

// editRecord is the shared body of the two record mutations, which take
// and return the same types.
func (h *handler) editRecord(w http.ResponseWriter, r *http.Request, op string,
	edit func(ctx context.Context, rec zones.Record) (zones.ZoneInfo, error)) {
	var rec zones.Record
	if !decodeBody(w, r, maxBody, &rec) {
		return
	}
	info, err := edit(r.Context(), rec)
	attrs := []any{"name", rec.Name, "type", rec.Type, "ttl", rec.TTL, "data", rec.Data}
	if err == nil {
		attrs = append(attrs, "zone", info.Origin, "serial", info.Serial)
	}
	h.audit(r, op, err, attrs...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// audit logs one mutating call: who asked, what, and how it ended. Refused
// input is a warning, not an error: the server is fine.
func (h *handler) audit(r *http.Request, op string, err error, attrs ...any) {
	attrs = append(attrs, "remote", r.RemoteAddr)
	switch {
	case err == nil:
		h.log.Info("admin: "+op, attrs...)
	case zones.KindOf(err) == zones.KindInternal:
		h.log.Error("admin: "+op+" failed", append(attrs, "err", err)...)
	default:
		h.log.Warn("admin: "+op+" refused", append(attrs, "err", err)...)
	}
}

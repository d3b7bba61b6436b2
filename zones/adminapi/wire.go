package adminapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/lbdns/lbdns/zones"
)

// statusFor maps an error kind to its HTTP status; kindForStatus is its
// inverse, used when a response carries no JSON error (a proxy, a 405).
func statusFor(k zones.Kind) int {
	switch k {
	case zones.KindInvalid:
		return http.StatusBadRequest
	case zones.KindNotFound:
		return http.StatusNotFound
	case zones.KindExists:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

func kindForStatus(status int) zones.Kind {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		return zones.KindInvalid
	case http.StatusNotFound:
		return zones.KindNotFound
	case http.StatusConflict:
		return zones.KindExists
	default:
		return zones.KindInternal
	}
}

// fail sends err as a JSON *zones.Error so the client can rebuild it field
// for field. Errors that are not *zones.Error are store or I/O failures.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ze *zones.Error
	if !errors.As(err, &ze) {
		ze = &zones.Error{Kind: zones.KindInternal, Msg: err.Error()}
	}
	if ze.Kind == zones.KindInternal && r.Method == http.MethodGet {
		// Mutations are logged by audit; reads only when they break.
		h.log.Error("admin: read failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
	}
	writeJSON(w, statusFor(ze.Kind), ze)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client is gone if this fails; nothing to tell it
}

// decodeBody reads exactly one JSON value of at most limit bytes into v,
// rejecting unknown fields so that a newer client's request is refused
// rather than half-applied. On failure it has already answered.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(new(json.RawMessage)) != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeJSON(w, http.StatusRequestEntityTooLarge,
			zones.Invalid("body", "request body exceeds %d bytes", tooBig.Limit))
		return false
	}
	writeJSON(w, http.StatusBadRequest, zones.Invalid("body", "malformed request: %v", err))
	return false
}

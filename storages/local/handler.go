package local

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/presso-dev/presso/engine"
)

// DocumentHandler returns the handler of GET and HEAD /v1/documents/{name}.
// It reads the full request path, so mount it at engine.DocumentPath without
// stripping the prefix.
func (s *Storage) DocumentHandler() http.Handler {
	return http.HandlerFunc(s.serveDocument)
}

func (s *Storage) serveDocument(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on documents: use GET or HEAD")
		return
	}

	// r.URL.Path is already percent-decoded, so an encoded "/" or ".." shows
	// up here and fails the name pattern.
	name, hasPrefix := strings.CutPrefix(r.URL.Path, engine.DocumentPath)
	requestID, ext, valid := parseDocumentName(name)
	if !hasPrefix || !valid {
		writeProblem(w, http.StatusNotFound, "document not found")
		return
	}

	query := r.URL.Query()
	expires, err := strconv.ParseInt(query.Get("expires"), 10, 64)
	if err != nil {
		writeProblem(w, http.StatusForbidden, "the document URL has no valid expires parameter: use the documentUrl exactly as Presso returned it")
		return
	}
	disposition := dispositionInline
	if query.Has("disposition") {
		disposition = query.Get("disposition")
	}
	if !s.signer.verify(name, expires, disposition, query.Get("signature")) {
		writeProblem(w, http.StatusForbidden, "the document URL signature is invalid: use the documentUrl exactly as Presso returned it")
		return
	}
	expiry := time.Unix(expires, 0)
	if !s.now().Before(expiry) {
		writeProblem(w, http.StatusGone, "the document URL expired at "+expiry.UTC().Format(time.RFC3339)+" and the document has been or will be deleted: render it again")
		return
	}

	file, err := os.Open(filepath.Join(s.cfg.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		writeProblem(w, http.StatusNotFound, "document not found")
		return
	}
	if err != nil {
		s.logger.Error("opening document failed", "requestId", requestID, "key", name, "error", err)
		writeProblem(w, http.StatusInternalServerError, "the document could not be read")
		return
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeProblem(w, http.StatusNotFound, "document not found")
		return
	}

	header := w.Header()
	header.Set("Content-Type", contentTypes[ext])
	header.Set("Content-Disposition", disposition+`; filename="`+requestID+"."+ext+`"`)
	header.Set("Cache-Control", "private")
	header.Set("X-Content-Type-Options", "nosniff")
	// ServeContent handles Range and conditional requests.
	http.ServeContent(w, r, "", info.ModTime(), file)
}

// problem is an RFC 9457 problem document with the statusCode, error and
// message fields that clients of the Doppio API read.
type problem struct {
	StatusCode int      `json:"statusCode"`
	Error      string   `json:"error"`
	Message    []string `json:"message"`
	Title      string   `json:"title"`
	Status     int      `json:"status"`
	Detail     string   `json:"detail"`
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	title := http.StatusText(status)
	body, _ := json.Marshal(problem{
		StatusCode: status,
		Error:      title,
		Message:    []string{detail},
		Title:      title,
		Status:     status,
		Detail:     detail,
	})
	header := w.Header()
	header.Set("Content-Type", "application/problem+json")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

package local

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHandlerServesStoredPDF(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	job := pdfJob()
	content := []byte("%PDF-1.7 served")
	stored := store(t, s, job, content)

	rec := get(t, s, "GET", stored.URL, nil)

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", rec.Code, rec.Body)
	}
	if rec.Body.String() != string(content) {
		t.Errorf("body = %q, want %q", rec.Body, content)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/pdf" {
		t.Errorf("Content-Type = %q, want application/pdf", got)
	}
	if got, want := rec.Header().Get("Content-Disposition"), `inline; filename="`+job.RequestID+`.pdf"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	if got := rec.Header().Get("Cache-Control"); got != "private" {
		t.Errorf("Cache-Control = %q, want private", got)
	}
}

func TestHandlerServesAttachmentJPEG(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	job := jpegAttachmentJob()
	stored := store(t, s, job, []byte("jpeg bytes"))

	rec := get(t, s, "GET", stored.URL, nil)

	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); got != "image/jpeg" {
		t.Errorf("Content-Type = %q, want image/jpeg", got)
	}
	if got, want := rec.Header().Get("Content-Disposition"), `attachment; filename="`+job.RequestID+`.jpg"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
}

func TestHandlerHeadAndRange(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	stored := store(t, s, pdfJob(), []byte("0123456789"))

	head := get(t, s, "HEAD", stored.URL, nil)
	if head.Code != http.StatusOK {
		t.Errorf("HEAD status = %d, want 200", head.Code)
	}
	if got := head.Header().Get("Content-Length"); got != "10" {
		t.Errorf("HEAD Content-Length = %q, want 10", got)
	}
	if head.Body.Len() != 0 {
		t.Errorf("HEAD body has %d bytes, want none", head.Body.Len())
	}

	partial := get(t, s, "GET", stored.URL, http.Header{"Range": {"bytes=2-5"}})
	if partial.Code != http.StatusPartialContent {
		t.Errorf("Range status = %d, want 206", partial.Code)
	}
	if partial.Body.String() != "2345" {
		t.Errorf("Range body = %q, want 2345", partial.Body)
	}
}

func TestHandlerRejectsAlteredURL(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	inline := store(t, s, pdfJob(), []byte("inline"))
	attachment := store(t, s, jpegAttachmentJob(), []byte("attachment"))
	other := store(t, s, pdfJob(), []byte("other"))

	tests := []struct {
		name   string
		url    string
		modify func(name string, query url.Values) string
	}{
		{"signature changed", inline.URL, func(name string, q url.Values) string {
			sig := []byte(q.Get("signature"))
			if sig[0] == 'a' {
				sig[0] = 'b'
			} else {
				sig[0] = 'a'
			}
			q.Set("signature", string(sig))
			return name
		}},
		{"signature missing", inline.URL, func(name string, q url.Values) string { q.Del("signature"); return name }},
		{"signature not hex", inline.URL, func(name string, q url.Values) string { q.Set("signature", "zz"); return name }},
		{"expires extended", inline.URL, func(name string, q url.Values) string {
			expires, _ := strconv.ParseInt(q.Get("expires"), 10, 64)
			q.Set("expires", strconv.FormatInt(expires+3600, 10))
			return name
		}},
		{"expires missing", inline.URL, func(name string, q url.Values) string { q.Del("expires"); return name }},
		{"name of another document", inline.URL, func(string, url.Values) string { return other.Key }},
		{"disposition added", inline.URL, func(name string, q url.Values) string { q.Set("disposition", "attachment"); return name }},
		{"disposition removed", attachment.URL, func(name string, q url.Values) string { q.Del("disposition"); return name }},
		{"disposition changed", attachment.URL, func(name string, q url.Values) string { q.Set("disposition", "inline"); return name }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			query := u.Query()
			name := strings.TrimPrefix(u.Path, "/v1/documents/")
			name = tt.modify(name, query)
			altered := "/v1/documents/" + name + "?" + query.Encode()

			rec := get(t, s, "GET", altered, nil)

			if rec.Code != http.StatusForbidden {
				t.Errorf("status = %d, want 403: %s", rec.Code, rec.Body)
			}
			assertProblem(t, rec, http.StatusForbidden)
		})
	}
}

func TestHandlerExpiredURLGone(t *testing.T) {
	clock := newFakeClock()
	s := newTestStorage(t, Config{TTL: time.Minute}, clock)
	stored := store(t, s, pdfJob(), []byte("short-lived"))

	clock.Advance(time.Minute - time.Second)
	if rec := get(t, s, "GET", stored.URL, nil); rec.Code != http.StatusOK {
		t.Errorf("status one second before expiry = %d, want 200", rec.Code)
	}

	clock.Advance(time.Second)
	rec := get(t, s, "GET", stored.URL, nil)
	if rec.Code != http.StatusGone {
		t.Errorf("status at expiry = %d, want 410: %s", rec.Code, rec.Body)
	}
	assertProblem(t, rec, http.StatusGone)
}

func TestHandlerCraftedExpiredURLGone(t *testing.T) {
	clock := newFakeClock()
	s := newTestStorage(t, Config{}, clock)
	stored := store(t, s, pdfJob(), []byte("document"))
	past := clock.Now().Add(-time.Second).Unix()

	rec := get(t, s, "GET", s.documentURL(stored.Key, past, dispositionInline), nil)

	if rec.Code != http.StatusGone {
		t.Errorf("status = %d, want 410: %s", rec.Code, rec.Body)
	}
}

func TestHandlerRejectsTraversalNames(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	expires := s.now().Add(time.Hour).Unix()
	// Every name is signed with the real key, so only the name check can
	// stop it.
	names := []string{
		URLSecretFile,
		"../" + URLSecretFile,
		"..%2F" + URLSecretFile,
		"%2E%2E%2Fetc%2Fpasswd",
		"sub/doppioreq_a-1.pdf",
		"doppioreq_a-1.pdf%00.pdf",
		".upload-1.tmp",
		"doppioreq_a-1.exe",
		"",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			decoded, _ := url.PathUnescape(name)
			query := url.Values{}
			query.Set("expires", strconv.FormatInt(expires, 10))
			query.Set("signature", s.signer.sign(decoded, expires, dispositionInline))

			rec := get(t, s, "GET", "/v1/documents/"+name+"?"+query.Encode(), nil)

			if rec.Code != http.StatusNotFound {
				t.Errorf("status = %d, want 404: %s", rec.Code, rec.Body)
			}
			assertProblem(t, rec, http.StatusNotFound)
		})
	}
}

func TestHandlerMissingFileNotFound(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	stored := store(t, s, pdfJob(), []byte("deleted soon"))
	if err := os.Remove(filepath.Join(s.cfg.Dir, stored.Key)); err != nil {
		t.Fatal(err)
	}

	rec := get(t, s, "GET", stored.URL, nil)

	if rec.Code != http.StatusNotFound {
		t.Errorf("status = %d, want 404: %s", rec.Code, rec.Body)
	}
	assertProblem(t, rec, http.StatusNotFound)
}

func TestHandlerRejectsPost(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	stored := store(t, s, pdfJob(), []byte("document"))

	rec := get(t, s, "POST", stored.URL, nil)

	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("status = %d, want 405", rec.Code)
	}
	if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow = %q, want GET, HEAD", got)
	}
}

func assertProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if got := rec.Header().Get("Content-Type"); got != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", got)
	}
	body := rec.Body.Bytes()
	var doc struct {
		StatusCode int      `json:"statusCode"`
		Error      string   `json:"error"`
		Message    []string `json:"message"`
		Title      string   `json:"title"`
		Status     int      `json:"status"`
		Detail     string   `json:"detail"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("body %q is not JSON: %v", body, err)
	}
	if doc.StatusCode != status || doc.Status != status {
		t.Errorf("statusCode, status = %d, %d, want %d", doc.StatusCode, doc.Status, status)
	}
	if doc.Error != http.StatusText(status) || doc.Title != http.StatusText(status) {
		t.Errorf("error, title = %q, %q, want %q", doc.Error, doc.Title, http.StatusText(status))
	}
	if len(doc.Message) != 1 || doc.Message[0] != doc.Detail || doc.Detail == "" {
		t.Errorf("message = %q, detail = %q, want one message equal to a non-empty detail", doc.Message, doc.Detail)
	}
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/presso-dev/presso/engine"
)

// FuzzRenderRequest sends arbitrary bodies to the render routes: decoding
// and validation must answer every one with 200 or a 4xx problem document,
// never a 5xx or a panic. The seeds are requests shaped like the Doppio
// API's documented examples.
func FuzzRenderRequest(f *testing.F) {
	seeds := []string{
		`{"page":{"setContent":{"html":"PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="}}}`,
		`{"page":{"goto":{"url":"https://example.com","options":{"waitUntil":["networkidle0"]}},"pdf":{"format":"A4","printBackground":true,"margin":{"top":"20mm","left":10}}}}`,
		`{"page":{"setContent":{"html":"PGgxPkhpPC9oMT4="},"screenshot":{"type":"webp","quality":80,"fullPage":true}},"launch":{"defaultViewport":{"width":1280,"height":720,"deviceScaleFactor":2}}}`,
		`{"doppio":{"webhook":{"url":"https://example.com/hook","method":"POST","headers":{"X-Tenant":"a"}}},"page":{"setContent":{"html":"PHA+aGk8L3A+"},"pdf":{"displayHeaderFooter":true,"footerTemplate":"PHNwYW4gY2xhc3M9InBhZ2VOdW1iZXIiPjwvc3Bhbj4="}}}`,
		`{"page":{"goto":{"url":"https://example.com"},"setCookies":[{"name":"a","value":"b","domain":"example.com","expires":"1767225600"}]}}`,
		`{"page":{"viewport":{}}}`,
		`{"page":`,
		`[]`,
		`null`,
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}

	keys, err := engine.NewKeyring(nil, engine.NewSigningSecret())
	if err != nil {
		f.Fatal(err)
	}
	handler := New(Options{Engine: &countingRunner{}, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()
	routes := []string{"/v1/render/pdf/sync", "/v1/render/screenshot/async", "/v1/render/pdf/direct"}

	f.Fuzz(func(t *testing.T, body []byte) {
		for _, route := range routes {
			req := httptest.NewRequest(http.MethodPost, route, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)

			if rec.Code >= 500 {
				t.Fatalf("%s answered %d to %q: %s", route, rec.Code, body, rec.Body.Bytes())
			}
			if rec.Code >= 400 {
				var problem Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &problem); err != nil || len(problem.Message) == 0 {
					t.Fatalf("%s answered %d without a problem document: %s", route, rec.Code, rec.Body.Bytes())
				}
			}
		}
	})
}

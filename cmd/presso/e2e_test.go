package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

type payload struct {
	DoppioRequestID string           `json:"doppioRequestId"`
	RenderStatus    string           `json:"renderStatus"`
	DocumentURL     string           `json:"documentUrl"`
	IsAsync         bool             `json:"isAsync"`
	IsCustomBucket  bool             `json:"isCustomBucket"`
	Error           *engine.JobError `json:"error"`
}

func doppioSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestAsyncPDFDeliversSignedWebhook(t *testing.T) {
	svc := startService(t, nil)
	for _, landscape := range []bool{false, true} {
		name := "portrait"
		if landscape {
			name = "landscape"
		}
		t.Run(name, func(t *testing.T) {
			hook := newReceiver(t)
			status, answer, _ := svc.call(t, "/v1/render/pdf/async", map[string]any{
				"page": map[string]any{
					"setContent": map[string]any{"html": b64(invoiceHTML(t))},
					"pdf":        map[string]any{"format": "A4", "landscape": landscape},
				},
				"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL + "/hook", "method": "POST"}},
			})
			if status != http.StatusOK {
				t.Fatalf("async answered %d: %s", status, answer)
			}
			var ack struct{ RequestID, JobID string }
			if err := json.Unmarshal(answer, &ack); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ack.RequestID, "doppioreq_") || ack.JobID == "" {
				t.Fatalf("ack %s", answer)
			}

			call := hook.wait(t, 1)[0]
			time.Sleep(300 * time.Millisecond)
			if n := hook.count(); n != 1 {
				t.Fatalf("receiver got %d calls, want exactly 1", n)
			}
			if got := call.header.Get("x-doppio-request-id"); got != ack.RequestID {
				t.Errorf("x-doppio-request-id %q, want %q", got, ack.RequestID)
			}
			signature := call.header.Get("x-doppio-payload-signature")
			if signature != doppioSignature(svc.secret, call.body) {
				t.Error("signature does not verify with the key's signing secret")
			}
			if signature == doppioSignature(newSecret(), call.body) {
				t.Error("signature verifies with another secret")
			}
			if call.header.Get("webhook-id") != ack.JobID {
				t.Errorf("webhook-id %q, want the job id %q", call.header.Get("webhook-id"), ack.JobID)
			}

			var p payload
			if err := json.Unmarshal(call.body, &p); err != nil {
				t.Fatalf("payload %s: %v", call.body, err)
			}
			if p.RenderStatus != "SUCCESS" || !p.IsAsync || p.IsCustomBucket || p.DoppioRequestID != ack.RequestID {
				t.Fatalf("payload %s", call.body)
			}
			code, pdf, header := download(t, p.DocumentURL)
			if code != http.StatusOK || header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("documentUrl answered %d %s", code, header.Get("Content-Type"))
			}
			if text := pdfText(t, pdf); !strings.Contains(text, "Invoice 2026-042") || !strings.Contains(text, "Total due: 50.50 EUR") {
				t.Errorf("PDF text lacks the invoice: %q", text)
			}
			width, height, _ := pdfPageSize(t, pdf)
			wantW, wantH := 595.0, 842.0
			if landscape {
				wantW, wantH = wantH, wantW
			}
			if !near(width, wantW) || !near(height, wantH) {
				t.Errorf("page size %.1f x %.1f pts, want A4 %.0f x %.0f", width, height, wantW, wantH)
			}
		})
	}
}

func TestStandardWebhookSignature(t *testing.T) {
	svc := startService(t, nil)
	hook := newReceiver(t)
	status, answer, _ := svc.call(t, "/v1/render/pdf/async", map[string]any{
		"page":   map[string]any{"setContent": map[string]any{"html": b64("<p>signed</p>")}},
		"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
	})
	if status != http.StatusOK {
		t.Fatalf("async answered %d: %s", status, answer)
	}
	call := hook.wait(t, 1)[0]
	id, timestamp := call.header.Get("webhook-id"), call.header.Get("webhook-timestamp")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(svc.secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "." + string(call.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := call.header.Get("webhook-signature"); got != want {
		t.Errorf("webhook-signature %q, want %q", got, want)
	}
}

func TestSyncDirectAndScreenshot(t *testing.T) {
	svc := startService(t, nil)
	page := map[string]any{"setContent": map[string]any{"html": b64(invoiceHTML(t))}, "pdf": map[string]any{"format": "A4"}}

	t.Run("sync pdf", func(t *testing.T) {
		status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{"page": page})
		if status != http.StatusOK {
			t.Fatalf("sync answered %d: %s", status, answer)
		}
		var fields map[string]any
		if err := json.Unmarshal(answer, &fields); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"doppioRequestId", "renderStatus", "documentUrl", "isAsync", "isCustomBucket"} {
			if _, ok := fields[name]; !ok {
				t.Errorf("sync answer lacks %s", name)
			}
		}
		if len(fields) != 5 {
			t.Errorf("sync answer has %d fields, want the contract's 5: %s", len(fields), answer)
		}
		var p payload
		if err := json.Unmarshal(answer, &p); err != nil {
			t.Fatal(err)
		}
		if p.RenderStatus != "SUCCESS" || p.IsAsync || !strings.HasPrefix(p.DoppioRequestID, "doppioreq_") {
			t.Fatalf("sync answer %s", answer)
		}
		if !strings.Contains(p.DocumentURL, "/v1/documents/"+p.DoppioRequestID+"-") || !strings.Contains(p.DocumentURL, ".pdf?") {
			t.Errorf("documentUrl %q does not follow <requestId>-<epoch ms>.pdf", p.DocumentURL)
		}
		_, pdf, _ := download(t, p.DocumentURL)
		if text := pdfText(t, pdf); !strings.Contains(text, "Invoice 2026-042") {
			t.Errorf("PDF text lacks the invoice: %q", text)
		}
		width, height, _ := pdfPageSize(t, pdf)
		if !near(width, 595) || !near(height, 842) {
			t.Errorf("page size %.1f x %.1f, want A4", width, height)
		}
	})

	t.Run("direct pdf", func(t *testing.T) {
		status, answer, header := svc.call(t, "/v1/render/pdf/direct", map[string]any{"page": page})
		if status != http.StatusOK || header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("direct answered %d %s: %.200s", status, header.Get("Content-Type"), answer)
		}
		if !strings.HasPrefix(header.Get("Content-Disposition"), `inline; filename="doppioreq_`) {
			t.Errorf("Content-Disposition %q", header.Get("Content-Disposition"))
		}
		if text := pdfText(t, answer); !strings.Contains(text, "Total due: 50.50 EUR") {
			t.Errorf("PDF text lacks the invoice: %q", text)
		}
	})

	t.Run("direct png", func(t *testing.T) {
		status, answer, header := svc.call(t, "/v1/render/screenshot/direct", map[string]any{
			"page":   map[string]any{"setContent": map[string]any{"html": b64(invoiceHTML(t))}, "screenshot": map[string]any{"type": "png"}},
			"launch": map[string]any{"defaultViewport": map[string]any{"width": 640, "height": 480}},
		})
		if status != http.StatusOK || header.Get("Content-Type") != "image/png" {
			t.Fatalf("screenshot answered %d %s: %.200s", status, header.Get("Content-Type"), answer)
		}
		img, err := png.Decode(bytes.NewReader(answer))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Errorf("PNG is %dx%d, want the viewport 640x480", b.Dx(), b.Dy())
		}
	})
}

func TestUnloadablePageEndsInError(t *testing.T) {
	svc := startService(t, nil)
	page := map[string]any{"goto": map[string]any{"url": "http://presso-e2e.invalid/invoice"}}

	status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{"page": page})
	var p payload
	if err := json.Unmarshal(answer, &p); err != nil || status != http.StatusOK {
		t.Fatalf("sync answered %d: %s", status, answer)
	}
	if p.RenderStatus != "ERROR" || p.DocumentURL != "" || p.Error == nil || !strings.Contains(p.Error.Message, "presso-e2e.invalid") {
		t.Errorf("sync answer %s: want ERROR naming the host", answer)
	}

	hook := newReceiver(t)
	status, answer, _ = svc.call(t, "/v1/render/pdf/async", map[string]any{
		"page": page, "doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
	})
	if status != http.StatusOK {
		t.Fatalf("async answered %d: %s", status, answer)
	}
	call := hook.wait(t, 1)[0]
	var hooked payload
	if err := json.Unmarshal(call.body, &hooked); err != nil {
		t.Fatal(err)
	}
	if hooked.RenderStatus != "ERROR" || hooked.Error == nil || hooked.Error.Code != engine.CodeNavigationFailed {
		t.Errorf("webhook payload %s: want ERROR with navigation_failed", call.body)
	}

	status, answer, _ = svc.call(t, "/v1/render/pdf/direct", map[string]any{"page": page})
	if status != http.StatusBadRequest || !strings.Contains(string(answer), "presso-e2e.invalid") {
		t.Errorf("direct answered %d: %s; want 400 naming the host", status, answer)
	}
}

func TestTamperedDocumentURLIsRefused(t *testing.T) {
	svc := startService(t, nil)
	status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{
		"page": map[string]any{"setContent": map[string]any{"html": b64("<p>secret report</p>")}},
	})
	var p payload
	if err := json.Unmarshal(answer, &p); err != nil || status != http.StatusOK || p.RenderStatus != "SUCCESS" {
		t.Fatalf("sync answered %d: %s", status, answer)
	}
	signatureAt := strings.Index(p.DocumentURL, "signature=") + len("signature=")
	flipped := "0"
	if p.DocumentURL[signatureAt] == '0' {
		flipped = "1"
	}
	altered := p.DocumentURL[:signatureAt] + flipped + p.DocumentURL[signatureAt+1:]
	if code, _, _ := download(t, altered); code != http.StatusForbidden {
		t.Errorf("altered signature answered %d, want 403", code)
	}
	extended := strings.Replace(p.DocumentURL, "expires=", "expires=9", 1)
	if code, _, _ := download(t, extended); code != http.StatusForbidden {
		t.Errorf("altered expiry answered %d, want 403", code)
	}
	if code, _, _ := download(t, p.DocumentURL); code != http.StatusOK {
		t.Errorf("the untouched URL answered %d", code)
	}
}

func TestRenderCommandMatchesAPI(t *testing.T) {
	svc := startService(t, nil)
	html := invoiceHTML(t)
	dir := t.TempDir()
	input := filepath.Join(dir, "invoice.html")
	if err := os.WriteFile(input, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(dir, "invoice.pdf")
	t.Chdir(dir)
	if err := runRender([]string{"--html", input, "--format", "A4", "-o", output}); err != nil {
		t.Fatal(err)
	}
	fromCLI, err := os.ReadFile(output)
	if err != nil {
		t.Fatal(err)
	}
	_, fromAPI, _ := svc.call(t, "/v1/render/pdf/direct", map[string]any{
		"page": map[string]any{"setContent": map[string]any{"html": b64(html)}, "pdf": map[string]any{"format": "A4"}},
	})
	if cli, api := pdfText(t, fromCLI), pdfText(t, fromAPI); cli != api || !strings.Contains(cli, "Invoice 2026-042") {
		t.Errorf("presso render text %q differs from the API's %q", cli, api)
	}
}

package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// templatePage is a template whose own head script reads window.doppioData
// while the head is parsed, which proves that the data script runs first,
// and writes what it read into the page once the body exists.
const templatePage = `<!doctype html>
<html><head><meta charset="utf-8"><title>Invoice</title>
<script>
  var earlyName = window.doppioData ? window.doppioData.DOP_name : "doppioData is missing";
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("early").textContent = "Read early: " + earlyName;
    var items = window.doppioData.DOP_items.map(function (i) { return i.item + " x" + i.qty; });
    document.getElementById("items").textContent = "Items from script: " + items.join(", ");
  });
</script>
</head><body>
<h1>Invoice for {* DOP_name *}</h1>
<p>Total due: {* DOP_total *}</p>
<p id="early"></p>
<p id="items"></p>
</body></html>`

func TestTemplateRenderEndToEnd(t *testing.T) {
	templatesDir := t.TempDir()
	svc := startService(t, map[string]any{"templates.dir": templatesDir})

	status, answer, _ := svc.call(t, "/v1/templates", map[string]any{
		"name": "Invoice", "kind": "pdf", "html": templatePage,
		"pdf": map[string]any{"format": "A4"},
	})
	if status != http.StatusCreated {
		t.Fatalf("create answered %d: %s", status, answer)
	}
	var tpl struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(answer, &tpl); err != nil || tpl.ID == "" {
		t.Fatalf("create answer %s: %v", answer, err)
	}
	data := map[string]any{
		"DOP_name":  "Ann <Example> & Co",
		"DOP_total": "50.50 EUR",
		"DOP_items": []any{map[string]any{"item": "Paper", "qty": 2}, map[string]any{"item": "Ink", "qty": 1}},
	}
	wantText := []string{
		"Invoice for Ann <Example> & Co",
		"Total due: 50.50 EUR",
		"Read early: Ann <Example> & Co",
		"Items from script: Paper x2, Ink x1",
	}
	checkPDF := func(t *testing.T, pdf []byte) {
		t.Helper()
		text := pdfText(t, pdf)
		for _, want := range wantText {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q: %q", want, text)
			}
		}
		if width, height, _ := pdfPageSize(t, pdf); !near(width, 595) || !near(height, 842) {
			t.Errorf("page size %.1f x %.1f pts, want the template's A4", width, height)
		}
	}

	t.Run("direct", func(t *testing.T) {
		status, pdf, header := svc.call(t, "/v1/template/direct", map[string]any{"templateId": tpl.ID, "templateData": data})
		if status != http.StatusOK || header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("direct answered %d %s: %.300s", status, header.Get("Content-Type"), pdf)
		}
		checkPDF(t, pdf)
	})

	t.Run("sync", func(t *testing.T) {
		status, answer, _ := svc.call(t, "/v1/template/sync", map[string]any{"templateId": tpl.ID, "templateData": data})
		var p payload
		if err := json.Unmarshal(answer, &p); err != nil || status != http.StatusOK || p.RenderStatus != "SUCCESS" {
			t.Fatalf("sync answered %d: %s", status, answer)
		}
		code, pdf, _ := download(t, p.DocumentURL)
		if code != http.StatusOK {
			t.Fatalf("documentUrl answered %d", code)
		}
		checkPDF(t, pdf)
	})

	t.Run("async", func(t *testing.T) {
		hook := newReceiver(t)
		status, answer, _ := svc.call(t, "/v1/template/async", map[string]any{
			"templateId": tpl.ID, "templateData": data,
			"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
		})
		if status != http.StatusOK {
			t.Fatalf("async answered %d: %s", status, answer)
		}
		var p payload
		if err := json.Unmarshal(hook.wait(t, 1)[0].body, &p); err != nil || p.RenderStatus != "SUCCESS" {
			t.Fatalf("webhook payload %+v: %v", p, err)
		}
		_, pdf, _ := download(t, p.DocumentURL)
		checkPDF(t, pdf)
	})

	t.Run("missing tag", func(t *testing.T) {
		status, answer, _ := svc.call(t, "/v1/template/direct", map[string]any{"templateId": tpl.ID, "templateData": map[string]any{"DOP_name": "Ann", "DOP_items": []any{}}})
		if status != http.StatusBadRequest || !strings.Contains(string(answer), "templateData.DOP_total is missing: the template uses {* DOP_total *}") {
			t.Errorf("missing tag answered %d: %s", status, answer)
		}
	})

	t.Run("filled page too large", func(t *testing.T) {
		status, answer, _ := svc.call(t, "/v1/templates", map[string]any{
			"name": "Repeats", "kind": "pdf", "html": strings.Repeat("{* DOP_a *}", 100),
		})
		var repeats struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(answer, &repeats); err != nil || status != http.StatusCreated {
			t.Fatalf("create answered %d: %s", status, answer)
		}
		status, answer, _ = svc.call(t, "/v1/template/direct", map[string]any{
			"templateId": repeats.ID, "templateData": map[string]any{"DOP_a": strings.Repeat("x", 1<<20)},
		})
		if status != http.StatusBadRequest || !strings.Contains(string(answer), "limits.max_html_bytes") {
			t.Errorf("a 100 MiB filled page answered %d: %.300s", status, answer)
		}
	})

	t.Run("after restart", func(t *testing.T) {
		restarted := startService(t, map[string]any{"templates.dir": templatesDir})
		status, pdf, _ := restarted.call(t, "/v1/template/direct", map[string]any{"templateId": tpl.ID, "templateData": data})
		if status != http.StatusOK {
			t.Fatalf("a new service over the same templates.dir answered %d: %.300s", status, pdf)
		}
		checkPDF(t, pdf)
	})
}

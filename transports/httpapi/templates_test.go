package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
)

// otherKey is a second API key, whose requests must never reach the
// templates of testKey.
const otherKey = "other-key"

// recordingRunner keeps every job that reaches the engine and returns a
// small document for direct jobs.
type recordingRunner struct {
	countingRunner
	mu       sync.Mutex
	recorded []*engine.Job
}

func (r *recordingRunner) Submit(ctx context.Context, job *engine.Job) error {
	r.record(job)
	return r.countingRunner.Submit(ctx, job)
}

func (r *recordingRunner) Do(ctx context.Context, job *engine.Job) (*engine.Result, error) {
	r.record(job)
	result, err := r.countingRunner.Do(ctx, job)
	if err != nil {
		return nil, err
	}
	result.ContentType = job.ContentType()
	result.Document = []byte("document of " + job.RequestID)
	return result, nil
}

func (r *recordingRunner) record(job *engine.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recorded = append(r.recorded, job)
}

// last returns the latest job, failing the test when there is none.
func (r *recordingRunner) last(t *testing.T) *engine.Job {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.recorded) == 0 {
		t.Fatal("no job reached the engine")
	}
	return r.recorded[len(r.recorded)-1]
}

// newTemplateServer serves the API with store as Options.Templates and two
// keys: testKey (named "tests") and otherKey (named "others").
func newTemplateServer(t *testing.T, store templates.Store) (*httptest.Server, *recordingRunner) {
	t.Helper()
	keys, err := engine.NewKeyring([]engine.APIKey{
		{Name: "tests", Key: testKey, SigningSecret: engine.NewSigningSecret()},
		{Name: "others", Key: otherKey, SigningSecret: engine.NewSigningSecret()},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	runner := &recordingRunner{}
	api := New(Options{
		Engine:       runner,
		Keys:         keys,
		Templates:    store,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxBodyBytes: 8 << 20,
	})
	server := httptest.NewServer(api.Handler())
	t.Cleanup(server.Close)
	return server, runner
}

// call sends body (JSON, none when empty) and returns the response with
// its body.
func call(t *testing.T, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// templateJSON is a template as a client receives it.
type templateJSON struct {
	ID         string                    `json:"id"`
	Name       string                    `json:"name"`
	Kind       string                    `json:"kind"`
	HTML       string                    `json:"html"`
	PDF        *engine.PDFOptions        `json:"pdf"`
	Screenshot *engine.ScreenshotOptions `json:"screenshot"`
	Launch     *engine.LaunchOptions     `json:"launch"`
	CreatedAt  time.Time                 `json:"createdAt"`
	UpdatedAt  time.Time                 `json:"updatedAt"`
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// createTemplate stores a template as key and returns it.
func createTemplate(t *testing.T, server *httptest.Server, key string, spec map[string]any) templateJSON {
	t.Helper()
	resp, body := call(t, http.MethodPost, server.URL+"/v1/templates", key, mustJSON(t, spec))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create answered %d: %s", resp.StatusCode, body)
	}
	var tpl templateJSON
	if err := json.Unmarshal(body, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl
}

func problemOf(t *testing.T, body []byte) Problem {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("error body is not a problem document: %v: %s", err, body)
	}
	return p
}

// invoiceSpec is a pdf template whose own script reads window.doppioData.
var invoiceSpec = map[string]any{
	"name": "Invoice",
	"kind": "pdf",
	"html": `<!doctype html><html><head><title>Invoice</title><script>document.title = window.doppioData.DOP_name;</script></head>` +
		`<body><h1>Invoice for {* DOP_name *}</h1><p>Total: {*DOP_total*}</p><pre>{* DOP_items *}</pre></body></html>`,
	"pdf":    map[string]any{"format": "A4", "margin": map[string]any{"top": "20mm"}},
	"launch": map[string]any{"defaultViewport": map[string]any{"width": 1024, "height": 768}},
}

func TestTemplateCRUD(t *testing.T) {
	server, _ := newTemplateServer(t, templates.NewMemory())

	created := createTemplate(t, server, testKey, invoiceSpec)
	if created.ID == "" || created.Name != "Invoice" || created.Kind != "pdf" || created.HTML != invoiceSpec["html"] {
		t.Fatalf("created %+v", created)
	}
	if created.PDF == nil || created.PDF.Format != "A4" || created.Launch.DefaultViewport.Width != 1024 || created.CreatedAt.IsZero() {
		t.Errorf("created template lost its options or times: %+v", created)
	}

	resp, body := call(t, http.MethodPost, server.URL+"/v1/templates", testKey, mustJSON(t, invoiceSpec))
	if resp.Header.Get("Location") == "" || strings.Contains(string(body), `"key"`) || strings.Contains(string(body), "tests") {
		t.Errorf("create: Location %q, body %s: want a Location and no owner key", resp.Header.Get("Location"), body)
	}
	var second templateJSON
	json.Unmarshal(body, &second)

	resp, body = call(t, http.MethodGet, server.URL+"/v1/templates", testKey, "")
	var list struct{ Templates []templateJSON }
	if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list answered %d: %s", resp.StatusCode, body)
	}
	if len(list.Templates) != 2 || list.Templates[0].ID != created.ID || list.Templates[1].ID != second.ID {
		t.Errorf("list %s: want both templates, oldest first", body)
	}

	resp, body = call(t, http.MethodGet, server.URL+"/v1/templates/"+created.ID, testKey, "")
	var got templateJSON
	json.Unmarshal(body, &got)
	if resp.StatusCode != http.StatusOK || got.ID != created.ID || got.HTML != created.HTML || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("get answered %d: %s", resp.StatusCode, body)
	}

	replacement := map[string]any{"name": "Card", "kind": "screenshot", "html": "<p>{* DOP_name *}</p>",
		"screenshot": map[string]any{"type": "jpeg", "quality": 70}}
	resp, body = call(t, http.MethodPut, server.URL+"/v1/templates/"+created.ID, testKey, mustJSON(t, replacement))
	var replaced templateJSON
	json.Unmarshal(body, &replaced)
	if resp.StatusCode != http.StatusOK || replaced.ID != created.ID || replaced.Kind != "screenshot" || replaced.PDF != nil || replaced.Launch != nil {
		t.Fatalf("replace answered %d: %s", resp.StatusCode, body)
	}
	if !replaced.CreatedAt.Equal(created.CreatedAt) || replaced.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("replace changed createdAt or moved updatedAt back: %s", body)
	}
	_, body = call(t, http.MethodGet, server.URL+"/v1/templates/"+created.ID, testKey, "")
	if !strings.Contains(string(body), `"name":"Card"`) {
		t.Errorf("get after replace: %s", body)
	}

	resp, body = call(t, http.MethodDelete, server.URL+"/v1/templates/"+created.ID, testKey, "")
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("delete answered %d: %s", resp.StatusCode, body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		if resp, _ := call(t, method, server.URL+"/v1/templates/"+created.ID, testKey, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s after delete answered %d, want 404", method, resp.StatusCode)
		}
	}
	_, body = call(t, http.MethodGet, server.URL+"/v1/templates", testKey, "")
	if strings.Contains(string(body), created.ID) {
		t.Errorf("list after delete still has the template: %s", body)
	}
}

func TestTemplateOfAnotherKeyIsNotFound(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, invoiceSpec)
	data := `{"DOP_name":"Ann","DOP_total":"1","DOP_items":[]}`
	render := `{"templateId":"` + tpl.ID + `","templateData":` + data + `,"doppio":{"webhook":{"url":"https://example.com/hook"}}}`

	cases := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/templates/" + tpl.ID, ""},
		{http.MethodPut, "/v1/templates/" + tpl.ID, mustJSON(t, invoiceSpec)},
		{http.MethodDelete, "/v1/templates/" + tpl.ID, ""},
		{http.MethodPost, "/v1/template/direct", render},
		{http.MethodPost, "/v1/template/sync", render},
		{http.MethodPost, "/v1/template/async", render},
	}
	for _, tc := range cases {
		resp, body := call(t, tc.method, server.URL+tc.path, otherKey, tc.body)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s as another key answered %d, want 404: %s", tc.method, tc.path, resp.StatusCode, body)
			continue
		}
		if p := problemOf(t, body); !strings.Contains(p.Message[0], "template "+tpl.ID+" not found") {
			t.Errorf("%s %s: message %q", tc.method, tc.path, p.Message)
		}
	}
	_, body := call(t, http.MethodGet, server.URL+"/v1/templates", otherKey, "")
	var list struct{ Templates []templateJSON }
	if err := json.Unmarshal(body, &list); err != nil || list.Templates == nil || len(list.Templates) != 0 {
		t.Errorf("list as another key: %s; want an empty list", body)
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Errorf("%d jobs reached the engine for another key's template", n)
	}

	_, body = call(t, http.MethodGet, server.URL+"/v1/templates/"+tpl.ID, testKey, "")
	if !strings.Contains(string(body), `"name":"Invoice"`) {
		t.Errorf("the owner's template changed: %s", body)
	}
}

func TestTemplateRoutesNeedAKey(t *testing.T) {
	server, _ := newTemplateServer(t, templates.NewMemory())
	for _, path := range []string{"/v1/templates", "/v1/template/sync"} {
		resp, _ := call(t, http.MethodPost, server.URL+path, "", `{}`)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a key answered %d, want 401", path, resp.StatusCode)
		}
	}
}

func TestTemplateValidation(t *testing.T) {
	server, _ := newTemplateServer(t, templates.NewMemory())
	existing := createTemplate(t, server, testKey, invoiceSpec)
	with := func(changes map[string]any) string {
		spec := map[string]any{"name": "x", "kind": "pdf", "html": "<p>x</p>"}
		for k, v := range changes {
			if v == nil {
				delete(spec, k)
				continue
			}
			spec[k] = v
		}
		return mustJSON(t, spec)
	}
	cases := []struct{ name, body, want string }{
		{"kind not in enum", with(map[string]any{"kind": "docx"}), "kind"},
		{"kind missing", with(map[string]any{"kind": nil}), "kind"},
		{"empty html", with(map[string]any{"html": ""}), "html"},
		{"blank html", with(map[string]any{"html": "  \n"}), "html must not be empty"},
		{"html over the limit", with(map[string]any{"html": strings.Repeat("a", templates.MaxHTMLBytes+1)}), "html must be at most 2097152 bytes"},
		{"name missing", with(map[string]any{"name": nil}), "name"},
		{"pdf options on a screenshot", with(map[string]any{"kind": "screenshot", "pdf": map[string]any{"format": "A4"}}), "pdf options apply to kind pdf only"},
		{"screenshot options on a pdf", with(map[string]any{"screenshot": map[string]any{"type": "png"}}), "screenshot options apply to kind screenshot only"},
		{"header not base64", with(map[string]any{"pdf": map[string]any{"headerTemplate": "<b>"}}), "pdf.headerTemplate must be base64 encoded"},
		{"bad pdf option", with(map[string]any{"pdf": map[string]any{"scale": 5}}), "pdf.scale"},
		{"id is not the client's", with(map[string]any{"id": "mine"}), "property id should not exist"},
		{"unknown field", with(map[string]any{"page": map[string]any{}}), "property page should not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range []struct{ method, path string }{
				{http.MethodPost, "/v1/templates"},
				{http.MethodPut, "/v1/templates/" + existing.ID},
			} {
				resp, body := call(t, target.method, server.URL+target.path, testKey, tc.body)
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("%s answered %d, want 400: %.300s", target.method, resp.StatusCode, body)
				}
				if p := problemOf(t, body); !strings.Contains(strings.Join(p.Message, "\n"), tc.want) {
					t.Errorf("%s messages %q lack %q", target.method, p.Message, tc.want)
				}
			}
		})
	}
	_, body := call(t, http.MethodGet, server.URL+"/v1/templates", testKey, "")
	if strings.Count(string(body), `"id"`) != 1 {
		t.Errorf("a rejected request stored or changed a template: %s", body)
	}
}

// renderedPage returns the HTML of a job's page, decoded from base64.
func renderedPage(t *testing.T, job *engine.Job) string {
	t.Helper()
	if job.Request.Page.SetContent == nil {
		t.Fatal("the job has no setContent")
	}
	html, err := base64.StdEncoding.DecodeString(job.Request.Page.SetContent.HTML)
	if err != nil {
		t.Fatal(err)
	}
	return string(html)
}

func TestTemplateRenderModes(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, invoiceSpec)
	data := `{"DOP_name":"Ann <b>Example</b>","DOP_total":12345678901234567890,"DOP_items":[{"item":"Paper","qty":2}]}`

	check := func(t *testing.T, mode engine.Mode) *engine.Job {
		job := runner.last(t)
		if job.Kind != engine.KindPDF || job.Mode != mode || job.Key != "tests" {
			t.Errorf("job kind %s mode %s key %s", job.Kind, job.Mode, job.Key)
		}
		if job.Request.Page.PDF == nil || job.Request.Page.PDF.Format != "A4" || job.Request.Page.PDF.Margin == nil {
			t.Errorf("job lost the template's pdf options: %+v", job.Request.Page.PDF)
		}
		if vp := job.Request.Viewport(); vp == nil || vp.Width != 1024 || vp.Height != 768 {
			t.Errorf("job lost the template's viewport: %+v", vp)
		}
		page := renderedPage(t, job)
		for _, want := range []string{
			"<h1>Invoice for Ann &lt;b&gt;Example&lt;/b&gt;</h1>",
			"<p>Total: 12345678901234567890</p>",
			"<pre>[{&#34;item&#34;:&#34;Paper&#34;,&#34;qty&#34;:2}]</pre>",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q:\n%s", want, page)
			}
		}
		ours := strings.Index(page, "<script>window.doppioData=")
		theirs := strings.Index(page, "<script>document.title")
		if ours < 0 || ours > theirs || !strings.HasPrefix(page[ours-len("<head>"):], "<head>") {
			t.Errorf("the doppioData script is not the head's first element:\n%s", page)
		}
		if !strings.Contains(page, `\"DOP_total\":12345678901234567890`) {
			t.Errorf("doppioData lost the number's digits:\n%s", page)
		}
		return job
	}

	t.Run("direct", func(t *testing.T) {
		resp, body := call(t, http.MethodPost, server.URL+"/v1/template/direct", testKey,
			`{"templateId":"`+tpl.ID+`","templateData":`+data+`,"doppio":{"contentDisposition":"attachment"}}`)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("direct answered %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		job := check(t, engine.ModeDirect)
		if string(body) != "document of "+job.RequestID || resp.Header.Get("X-Doppio-Request-Id") != job.RequestID {
			t.Errorf("direct body %q, request id header %q", body, resp.Header.Get("X-Doppio-Request-Id"))
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("Content-Disposition %q: doppio of the request was not used", resp.Header.Get("Content-Disposition"))
		}
	})

	t.Run("sync", func(t *testing.T) {
		resp, body := call(t, http.MethodPost, server.URL+"/v1/template/sync", testKey, `{"templateId":"`+tpl.ID+`","templateData":`+data+`}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sync answered %d: %s", resp.StatusCode, body)
		}
		job := check(t, engine.ModeSync)
		var payload engine.Payload
		json.Unmarshal(body, &payload)
		if payload.DoppioRequestID != job.RequestID || payload.RenderStatus != engine.StatusSuccess || payload.IsAsync {
			t.Errorf("sync answer %s", body)
		}
	})

	t.Run("async", func(t *testing.T) {
		resp, body := call(t, http.MethodPost, server.URL+"/v1/template/async", testKey,
			`{"templateId":"`+tpl.ID+`","templateData":`+data+`,"doppio":{"webhook":{"url":"https://example.com/hook","method":"PUT"}}}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("async answered %d: %s", resp.StatusCode, body)
		}
		job := check(t, engine.ModeAsync)
		var ack Ack
		json.Unmarshal(body, &ack)
		if ack.JobID != job.ID || ack.RequestID != job.RequestID {
			t.Errorf("ack %s", body)
		}
		if hook := job.Request.Webhook(); hook == nil || hook.URL != "https://example.com/hook" || hook.Method != "PUT" {
			t.Errorf("job webhook %+v", hook)
		}
	})
}

func TestTemplateRenderScreenshot(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, map[string]any{
		"name": "Card", "kind": "screenshot", "html": "<p>{* DOP_name *}</p>",
		"screenshot": map[string]any{"type": "webp", "quality": 60},
	})
	resp, body := call(t, http.MethodPost, server.URL+"/v1/template/direct", testKey, `{"templateId":"`+tpl.ID+`","templateData":{"DOP_name":"Ann"}}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/webp" {
		t.Fatalf("direct answered %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	job := runner.last(t)
	if job.Kind != engine.KindScreenshot || job.Request.Page.Screenshot == nil || *job.Request.Page.Screenshot.Quality != 60 {
		t.Errorf("job %+v", job.Request.Page)
	}
	if page := renderedPage(t, job); !strings.HasSuffix(page, "<p>Ann</p>") || !strings.HasPrefix(page, "<script>window.doppioData=") {
		t.Errorf("page %q: want the data script first, then the filled page", page)
	}
}

func TestTemplateRenderRejections(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, invoiceSpec)
	cases := []struct {
		name, route, body string
		status            int
		want              []string
	}{
		{"missing tag", "sync", `{"templateId":"` + tpl.ID + `","templateData":{"DOP_name":"Ann","DOP_items":[]}}`, 400,
			[]string{"templateData.DOP_total is missing: the template uses {* DOP_total *}"}},
		{"no templateData", "direct", `{"templateId":"` + tpl.ID + `"}`, 400,
			[]string{"templateData.DOP_name is missing", "templateData.DOP_total is missing", "templateData.DOP_items is missing"}},
		{"async without webhook, and a missing tag", "async", `{"templateId":"` + tpl.ID + `","templateData":{"DOP_name":"Ann","DOP_items":[]}}`, 400,
			[]string{"doppio.webhook is required on async routes", "templateData.DOP_total is missing"}},
		{"bad webhook url", "async", `{"templateId":"` + tpl.ID + `","templateData":{"DOP_name":"","DOP_total":1,"DOP_items":null},"doppio":{"webhook":{"url":"not a url"}}}`, 400,
			[]string{"doppio.webhook.url must be an absolute http or https URL"}},
		{"unknown template", "sync", `{"templateId":"00000000-0000-0000-0000-000000000000","templateData":{}}`, 404,
			[]string{"template 00000000-0000-0000-0000-000000000000 not found"}},
		{"id with a path", "sync", `{"templateId":"../tests/` + tpl.ID + `"}`, 404, []string{"not found"}},
		{"unknown field", "sync", `{"templateId":"` + tpl.ID + `","page":{}}`, 400, []string{"property page should not exist"}},
		{"no templateId", "sync", `{"templateData":{}}`, 400, []string{"templateId"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, http.MethodPost, server.URL+"/v1/template/"+tc.route, testKey, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("answered %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			messages := strings.Join(problemOf(t, body).Message, "\n")
			for _, want := range tc.want {
				if !strings.Contains(messages, want) {
					t.Errorf("messages %q lack %q", messages, want)
				}
			}
			if strings.Contains(messages, "no longer passes validation") {
				t.Errorf("messages %q blame the stored template", messages)
			}
		})
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Errorf("%d rejected requests reached the engine", n)
	}
}

func TestTemplateRenderChecksLimits(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, map[string]any{
		"name": "huge", "kind": "screenshot", "html": "<p>{* DOP_x *}</p>",
		"screenshot": map[string]any{"clip": map[string]any{"x": 0, "y": 0, "width": 100000, "height": 100000}},
	})
	resp, body := call(t, http.MethodPost, server.URL+"/v1/template/sync", testKey, `{"templateId":"`+tpl.ID+`","templateData":{"DOP_x":"1"}}`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("answered %d, want 400: %s", resp.StatusCode, body)
	}
	if messages := strings.Join(problemOf(t, body).Message, "\n"); !strings.Contains(messages, "limits.max_screenshot_pixels") {
		t.Errorf("messages %q do not name limits.max_screenshot_pixels", messages)
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Errorf("%d rejected requests reached the engine", n)
	}
}

func TestTemplateRenderEscapesScriptInData(t *testing.T) {
	server, runner := newTemplateServer(t, templates.NewMemory())
	tpl := createTemplate(t, server, testKey, map[string]any{
		"name": "x", "kind": "pdf",
		"html": `<html><head><script>run()</script></head><body><p title="{* DOP_x *}">{* DOP_x *}</p>{* DOP_obj *}</body></html>`,
	})
	attack := `</script><script>alert(1)</script><!--`
	data := map[string]any{"DOP_x": attack, "DOP_obj": map[string]any{"k": attack}, "</script>": "<!--"}
	resp, body := call(t, http.MethodPost, server.URL+"/v1/template/sync", testKey, mustJSON(t, map[string]any{"templateId": tpl.ID, "templateData": data}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sync answered %d: %s", resp.StatusCode, body)
	}
	page := renderedPage(t, runner.last(t))
	if strings.Contains(page, "alert(1)</script>") || strings.Contains(page, "<!--") {
		t.Errorf("data reached the page as markup:\n%s", page)
	}
	// The template has 10 '<' and the inserted script 2.
	if n := strings.Count(page, "<"); n != 12 {
		t.Errorf("page has %d '<', want 12:\n%s", n, page)
	}
	if !strings.Contains(page, `{&#34;k&#34;:&#34;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--&#34;}`) {
		t.Errorf("object not written as escaped JSON text:\n%s", page)
	}
}

// failingStore is a template store whose backend is down for the methods
// it overrides.
type failingStore struct{ templates.Store }

var errBackendDown = errors.New("backend down")

func (failingStore) Get(context.Context, string, string) (*templates.Template, error) {
	return nil, errBackendDown
}

func (failingStore) List(context.Context, string) ([]*templates.Template, error) {
	return nil, errBackendDown
}

func (failingStore) Create(context.Context, *templates.Template) error { return errBackendDown }

func TestTemplateStoreFailureAnswers503(t *testing.T) {
	server, _ := newTemplateServer(t, failingStore{Store: templates.NewMemory()})
	cases := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/templates", mustJSON(t, invoiceSpec)},
		{http.MethodGet, "/v1/templates", ""},
		{http.MethodGet, "/v1/templates/abc", ""},
		{http.MethodPost, "/v1/template/sync", `{"templateId":"abc"}`},
	}
	for _, tc := range cases {
		resp, body := call(t, tc.method, server.URL+tc.path, testKey, tc.body)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s answered %d (Retry-After %q), want 503 with Retry-After", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if strings.Contains(string(body), errBackendDown.Error()) {
			t.Errorf("%s %s leaked the store's error: %s", tc.method, tc.path, body)
		}
	}
}

// TestTemplateSchemasDocumentEveryField checks that every property of the
// templates' schemas has a description in the OpenAPI document.
func TestTemplateSchemasDocumentEveryField(t *testing.T) {
	server, _ := newTemplateServer(t, nil)
	resp, body := call(t, http.MethodGet, server.URL+"/openapi.json", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json answered %d", resp.StatusCode)
	}
	var doc struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for path, methods := range map[string][]string{
		"/v1/templates":       {"get", "post"},
		"/v1/templates/{id}":  {"get", "put", "delete"},
		"/v1/template/direct": {"post"},
		"/v1/template/sync":   {"post"},
		"/v1/template/async":  {"post"},
	} {
		for _, method := range methods {
			if doc.Paths[path][method] == nil {
				t.Errorf("%s %s is not documented", method, path)
			}
		}
	}
	for _, name := range []string{"TemplateSpec", "Template", "TemplateList", "TemplateRenderRequest"} {
		schema, ok := doc.Components.Schemas[name]
		if !ok || len(schema.Properties) == 0 {
			t.Errorf("schema %s missing", name)
			continue
		}
		for property, p := range schema.Properties {
			if property != "$schema" && p.Description == "" {
				t.Errorf("%s.%s has no description", name, property)
			}
		}
	}
}

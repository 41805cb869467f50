package templates

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

func TestSpecValidate(t *testing.T) {
	quality := 80
	cases := []struct {
		name      string
		spec      Spec
		wantPaths []string
		wantText  string
	}{
		{"valid pdf", Spec{Name: "Invoice", Kind: engine.KindPDF, HTML: "<p>x</p>", PDF: &engine.PDFOptions{Format: "A4"}}, nil, ""},
		{"valid screenshot", Spec{Name: "Card", Kind: engine.KindScreenshot, HTML: "<p>x</p>", Screenshot: &engine.ScreenshotOptions{Type: "jpeg", Quality: &quality}}, nil, ""},
		{"unknown kind", Spec{Name: "x", Kind: "docx", HTML: "<p>x</p>"}, []string{"kind"}, "kind must be pdf or screenshot"},
		{"empty name and html", Spec{Name: "  ", Kind: engine.KindPDF, HTML: "\n"}, []string{"name", "html"}, "html must not be empty"},
		{"name too long", Spec{Name: strings.Repeat("é", MaxNameLength+1), Kind: engine.KindPDF, HTML: "x"}, []string{"name"}, "at most 200 characters"},
		{"html too large", Spec{Name: "x", Kind: engine.KindPDF, HTML: strings.Repeat("a", MaxHTMLBytes+1)}, []string{"html"}, "at most 2097152 bytes"},
		{"pdf options on a screenshot", Spec{Name: "x", Kind: engine.KindScreenshot, HTML: "x", PDF: &engine.PDFOptions{}}, []string{"pdf"}, "pdf options apply to kind pdf only"},
		{"screenshot options on a pdf", Spec{Name: "x", Kind: engine.KindPDF, HTML: "x", Screenshot: &engine.ScreenshotOptions{}}, []string{"screenshot"}, "screenshot options apply to kind screenshot only"},
		{"header not base64", Spec{Name: "x", Kind: engine.KindPDF, HTML: "x", PDF: &engine.PDFOptions{HeaderTemplate: "<div>"}}, []string{"pdf.headerTemplate"}, "pdf.headerTemplate must be base64 encoded"},
		{"quality on png", Spec{Name: "x", Kind: engine.KindScreenshot, HTML: "x", Screenshot: &engine.ScreenshotOptions{Quality: &quality}}, []string{"screenshot.quality"}, "set screenshot.type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.spec.Validate()
			var paths, messages []string
			for _, fe := range errs {
				paths = append(paths, fe.Path)
				messages = append(messages, fe.Message)
			}
			if strings.Join(paths, ",") != strings.Join(tc.wantPaths, ",") {
				t.Errorf("paths %v, want %v (%v)", paths, tc.wantPaths, messages)
			}
			if tc.wantText != "" && !strings.Contains(strings.Join(messages, "\n"), tc.wantText) {
				t.Errorf("messages %q lack %q", messages, tc.wantText)
			}
			if strings.Contains(strings.Join(messages, "\n"), "page.") {
				t.Errorf("messages %q name the render request's fields instead of the template's", messages)
			}
		})
	}
}

func TestSpecRequest(t *testing.T) {
	spec := Spec{Name: "x", Kind: engine.KindPDF, HTML: "ignored", PDF: &engine.PDFOptions{Format: "A4"},
		Launch: &engine.LaunchOptions{DefaultViewport: &engine.Viewport{Width: 1000}}}
	doppio := &engine.DoppioOptions{ContentDisposition: "attachment"}
	req := spec.Request("<p>é</p>", doppio)
	html, err := base64.StdEncoding.DecodeString(req.Page.SetContent.HTML)
	if err != nil || string(html) != "<p>é</p>" {
		t.Errorf("setContent.html decodes to %q, %v", html, err)
	}
	if req.Page.PDF != spec.PDF || req.Launch != spec.Launch || req.Doppio != doppio || req.Page.Goto != nil {
		t.Errorf("request %+v does not carry the template's options", req)
	}
	if errs := req.Validate(engine.KindPDF, engine.ModeSync); len(errs) != 0 {
		t.Errorf("request is invalid: %v", errs)
	}
}

func TestMarshalKeepsOwnerOnlyInStorage(t *testing.T) {
	tpl := New("billing", Spec{Name: "x", Kind: engine.KindPDF, HTML: "<p>x</p>"})
	stored, err := Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), `"key":"billing"`) {
		t.Errorf("stored form %s lacks the owner", stored)
	}
	back, err := Unmarshal(stored)
	if err != nil || back.Key != "billing" || back.ID != tpl.ID || !back.CreatedAt.Equal(tpl.CreatedAt) {
		t.Errorf("round trip gave %+v, %v", back, err)
	}

	client, _ := json.Marshal(tpl)
	if strings.Contains(string(client), "billing") {
		t.Errorf("client form %s contains the owner key", client)
	}
}

func TestReplacedKeepsIdentity(t *testing.T) {
	tpl := New("billing", Spec{Name: "old", Kind: engine.KindPDF, HTML: "x"})
	tpl.CreatedAt = tpl.CreatedAt.Add(-time.Hour)
	next := tpl.Replaced(Spec{Name: "new", Kind: engine.KindScreenshot, HTML: "y"})
	if next.ID != tpl.ID || next.Key != tpl.Key || !next.CreatedAt.Equal(tpl.CreatedAt) || !next.UpdatedAt.After(tpl.CreatedAt) || next.Name != "new" {
		t.Errorf("Replaced gave %+v", next)
	}
}

func TestKeyFolder(t *testing.T) {
	cases := map[string]string{
		"billing":  "billing",
		"a_b-C9":   "a_b-C9",
		"a/b":      "a%2Fb",
		"..":       "%2E%2E",
		"a%2Fb":    "a%252Fb",
		"ä":        "%C3%A4",
		"key name": "key%20name",
	}
	for key, want := range cases {
		got, err := KeyFolder(key)
		if err != nil || got != want {
			t.Errorf("KeyFolder(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := KeyFolder(""); err == nil {
		t.Error("KeyFolder accepted an empty key name")
	}
	if _, err := KeyFolder(strings.Repeat("é", 41)); err == nil {
		t.Error("KeyFolder accepted a name that escapes to 246 bytes")
	}
	if _, err := KeyFolder(strings.Repeat("k", maxKeyFolderBytes)); err != nil {
		t.Errorf("KeyFolder rejected a name of %d ASCII letters: %v", maxKeyFolderBytes, err)
	}
	if _, err := ObjectName("billing", "../x"); err != ErrNotFound {
		t.Errorf("ObjectName with a path in the id: %v, want ErrNotFound", err)
	}
	if name, _ := ObjectName("a/b", "abc"); name != "a%2Fb/abc.json" {
		t.Errorf("ObjectName = %q", name)
	}
}

func TestSortKeepsCreationOrder(t *testing.T) {
	// Many of these are created in the same millisecond, so their ids
	// decide the order.
	var created []*Template
	for range 500 {
		created = append(created, New("billing", Spec{Name: "x", Kind: engine.KindPDF, HTML: "x"}))
	}
	shuffled := slices.Clone(created)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	Sort(shuffled)
	for i := range created {
		if shuffled[i] != created[i] {
			t.Fatalf("position %d holds template %s, want %s, the %dth created", i, shuffled[i].ID, created[i].ID, i)
		}
	}
}

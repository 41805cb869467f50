package templates

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/presso-dev/presso/engine"
)

// Limits of a Spec.
const (
	// MaxHTMLBytes bounds a template's HTML, in bytes of UTF-8.
	MaxHTMLBytes = 2 << 20
	// MaxNameLength bounds a template's name, in characters.
	MaxNameLength = 200
)

// Spec is the part of a template that its client sets: name, kind, page
// and options. It is the body that creates or replaces a template.
type Spec struct {
	Name       string                    `json:"name" minLength:"1" maxLength:"200" doc:"A name for people; it need not be unique." example:"Invoice"`
	Kind       engine.Kind               `json:"kind" enum:"pdf,screenshot" doc:"What the template renders to: pdf (use the /v1/template routes as the PDF routes) or screenshot." example:"pdf"`
	HTML       string                    `json:"html" minLength:"1" doc:"The page as plain HTML, not base64, at most 2 MiB. Each {* DOP_name *} tag is replaced at render time by templateData.DOP_name, HTML-escaped; the page's scripts read the whole templateData as window.doppioData." example:"<html><body><h1>Invoice for {* DOP_name *}</h1><p>Total: {* DOP_total *}</p></body></html>"`
	PDF        *engine.PDFOptions        `json:"pdf,omitempty" doc:"Print options, as page.pdf of the PDF routes. Only with kind pdf."`
	Screenshot *engine.ScreenshotOptions `json:"screenshot,omitempty" doc:"Capture options, as page.screenshot of the screenshot routes. Only with kind screenshot."`
	Launch     *engine.LaunchOptions     `json:"launch,omitempty" doc:"Browser options, as launch of the render routes."`
}

// Template is a stored template: a Spec with its id, its owner and its
// timestamps.
type Template struct {
	ID string `json:"id" readOnly:"true" doc:"The template's id, a UUIDv7 given by Presso, and the templateId of the /v1/template routes." example:"0193a1f2-6b2a-7c3d-9e1f-2a3b4c5d6e7f"`
	Spec
	CreatedAt time.Time `json:"createdAt" readOnly:"true" doc:"When the template was created (UTC)." example:"2026-03-01T09:30:00Z"`
	UpdatedAt time.Time `json:"updatedAt" readOnly:"true" doc:"When the template was last created or replaced (UTC)." example:"2026-03-02T14:05:00Z"`
	// Key is the name of the API key that owns the template. It scopes
	// every Store call and is never sent to clients.
	Key string `json:"-"`
}

// New returns a template of key, created now. Its id is a UUIDv7, which
// google/uuid (v1.6.0, getV7Time) makes strictly increasing within a
// process, so Sort keeps the creation order of templates created in the
// same millisecond.
func New(key string, spec Spec) *Template {
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := uuid.Must(uuid.NewV7()).String()
	return &Template{ID: id, Spec: spec, CreatedAt: now, UpdatedAt: now, Key: key}
}

// Replaced returns t with spec in place of its content, keeping its id,
// owner and creation time and updated now.
func (t *Template) Replaced(spec Spec) *Template {
	return &Template{
		ID:        t.ID,
		Spec:      spec,
		CreatedAt: t.CreatedAt,
		UpdatedAt: time.Now().UTC().Truncate(time.Millisecond),
		Key:       t.Key,
	}
}

// Validate returns every problem of s, each with its field path in the
// request body ("pdf.headerTemplate"). The options are checked with the
// rules of engine.RenderRequest.Validate, so a stored template passes them
// again at render time unless those rules have changed since.
func (s *Spec) Validate() []engine.FieldError {
	var errs []engine.FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, engine.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	if strings.TrimSpace(s.Name) == "" {
		add("name", "name must not be empty: give the template a name")
	} else if n := len([]rune(s.Name)); n > MaxNameLength {
		add("name", "name must be at most %d characters, got %d", MaxNameLength, n)
	}
	if strings.TrimSpace(s.HTML) == "" {
		add("html", "html must not be empty: give the template's page as plain HTML")
	} else if len(s.HTML) > MaxHTMLBytes {
		add("html", "html must be at most %d bytes (2 MiB), got %d: move large images to URLs", MaxHTMLBytes, len(s.HTML))
	}
	if !s.Kind.Valid() {
		add("kind", "kind must be pdf or screenshot, got %q", s.Kind)
		return errs
	}
	if s.PDF != nil && s.Kind != engine.KindPDF {
		add("pdf", "pdf options apply to kind pdf only: remove pdf or set kind to pdf")
	}
	if s.Screenshot != nil && s.Kind != engine.KindScreenshot {
		add("screenshot", "screenshot options apply to kind screenshot only: remove screenshot or set kind to screenshot")
	}

	probe := s.Request("<html></html>", nil)
	for _, fe := range probe.Validate(s.Kind, engine.ModeSync) {
		errs = append(errs, specFieldError(fe))
	}
	return errs
}

// specPaths maps the paths of a render request to those of a Spec.
var specPaths = []struct{ request, spec string }{
	{"page.setContent.html", "html"},
	{"page.pdf", "pdf"},
	{"page.screenshot", "screenshot"},
}

// specFieldError rewrites an error of the render request that Validate
// builds so that its path and message name the Spec's field.
func specFieldError(fe engine.FieldError) engine.FieldError {
	for _, p := range specPaths {
		if fe.Path == p.request || strings.HasPrefix(fe.Path, p.request+".") {
			return engine.FieldError{
				Path:    p.spec + strings.TrimPrefix(fe.Path, p.request),
				Message: strings.ReplaceAll(fe.Message, p.request, p.spec),
			}
		}
	}
	return fe
}

// Request returns the render request of the template's kind and options
// with html as the page (encoded to base64 here) and doppio as the
// delivery options.
func (s *Spec) Request(html string, doppio *engine.DoppioOptions) engine.RenderRequest {
	return engine.RenderRequest{
		Doppio: doppio,
		Page: engine.PageOptions{
			SetContent: &engine.SetContentOptions{HTML: base64.StdEncoding.EncodeToString([]byte(html))},
			PDF:        s.PDF,
			Screenshot: s.Screenshot,
		},
		Launch: s.Launch,
	}
}

// idPattern matches the ids that New gives. Its character set has no path
// separator and no dot, so an id that matches is safe in a file name or
// an object key.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidID reports whether id can be the id of a stored template. Stores
// return ErrNotFound for any other id without looking it up.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// CheckStorable returns an error when t cannot be stored: it has no owner,
// an id that New cannot have given, or an unknown kind. Stores call it in
// Create and Update.
func (t *Template) CheckStorable() error {
	switch {
	case t == nil:
		return fmt.Errorf("templates: nil template")
	case t.Key == "":
		return fmt.Errorf("templates: template %q has no owner key", t.ID)
	case !ValidID(t.ID):
		return fmt.Errorf("templates: id %q is invalid: it must be 1 to 64 letters, digits, '-' or '_'", t.ID)
	case !t.Kind.Valid():
		return fmt.Errorf("templates: template %s has kind %q: want pdf or screenshot", t.ID, t.Kind)
	}
	return nil
}

// record is the JSON form in which stores keep a template: the fields the
// client sees plus the owner key.
type record struct {
	Key string `json:"key"`
	*Template
}

// Marshal returns the JSON that stores keep for t, owner key included.
// It leaves <, > and & as they are, so that a stored page stays readable
// and about as large as the page itself.
func Marshal(t *Template) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record{Key: t.Key, Template: t}); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Unmarshal reads what Marshal wrote.
func Unmarshal(data []byte) (*Template, error) {
	rec := record{Template: &Template{}}
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("templates: decoding a stored template: %w", err)
	}
	rec.Template.Key = rec.Key
	return rec.Template, nil
}

// Sort orders templates as List returns them: oldest first, by id among
// those created at the same time.
func Sort(list []*Template) {
	slices.SortFunc(list, func(a, b *Template) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

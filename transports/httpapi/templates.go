package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
)

// TemplateSpec is the body of POST /v1/templates and PUT
// /v1/templates/{id}. It is templates.Spec under a name that says what it
// is in the OpenAPI document.
type TemplateSpec templates.Spec

// TemplateList is the response body of GET /v1/templates.
type TemplateList struct {
	Templates []*templates.Template `json:"templates" doc:"The templates of the API key, oldest first."`
}

// TemplateRenderRequest is the body of the three /v1/template routes.
type TemplateRenderRequest struct {
	TemplateID   string                `json:"templateId" minLength:"1" maxLength:"64" doc:"The id of a template of this API key, as returned by POST /v1/templates." example:"0193a1f2-6b2a-7c3d-9e1f-2a3b4c5d6e7f"`
	TemplateData map[string]any        `json:"templateData,omitempty" doc:"The values of the template's tags: each {* DOP_name *} becomes the value of DOP_name, HTML-escaped; numbers and booleans as their JSON text, objects and arrays as JSON text, null as nothing. A tag without a value is rejected with 400. The page's scripts read the whole object as window.doppioData, which is set before they run." example:"{\"DOP_name\":\"Ann Example\",\"DOP_total\":\"50.50 EUR\",\"DOP_items\":[{\"item\":\"Paper\",\"qty\":2}]}"`
	Doppio       *engine.DoppioOptions `json:"doppio,omitempty" doc:"Delivery options, as doppio of the render routes: webhook (required on the async route), presignedUrl and contentDisposition."`
}

type templateSpecInput struct {
	Body    TemplateSpec
	RawBody []byte
}

// Resolve rejects keys that Go's decoder would match case-insensitively or
// take twice, as the render routes do.
func (in *templateSpecInput) Resolve(huma.Context) []error {
	return fieldErrors(checkKeys(in.RawBody, reflect.TypeFor[TemplateSpec]()))
}

type templateIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The template's id." example:"0193a1f2-6b2a-7c3d-9e1f-2a3b4c5d6e7f"`
}

type replaceTemplateInput struct {
	ID      string `path:"id" maxLength:"64" doc:"The template's id." example:"0193a1f2-6b2a-7c3d-9e1f-2a3b4c5d6e7f"`
	Body    TemplateSpec
	RawBody []byte
}

// Resolve rejects keys as templateSpecInput does.
func (in *replaceTemplateInput) Resolve(huma.Context) []error {
	return fieldErrors(checkKeys(in.RawBody, reflect.TypeFor[TemplateSpec]()))
}

type templateOutput struct {
	Body *templates.Template
}

type createdTemplateOutput struct {
	Location string `header:"Location" doc:"The path of the new template." example:"/v1/templates/0193a1f2-6b2a-7c3d-9e1f-2a3b4c5d6e7f"`
	Body     *templates.Template
}

type templateListOutput struct {
	Body TemplateList
}

type templateRenderInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Presso extension: a repeat of a request with the same key within 24 hours returns the first request's response instead of rendering again. The repeat must produce the same page: after the template or templateData changed, the same key is rejected with 409." example:"invoice-42-v1"`
	Body           TemplateRenderRequest
	// RawBody is decoded again for templateData, so that numbers keep
	// every digit instead of passing through float64.
	RawBody []byte
}

// registerTemplateRoutes adds the template store's CRUD routes and the
// three routes that render a stored template. A nil Options.Templates
// gets an in-memory store.
func (s *Server) registerTemplateRoutes() {
	if s.opts.Templates == nil {
		s.opts.Templates = templates.NewMemory()
	}
	bearer := []map[string][]string{{"bearer": {}}}
	tags := []string{"Templates"}

	huma.Register(s.api, huma.Operation{
		OperationID: "create-template", Method: http.MethodPost, Path: "/v1/templates",
		Summary:     "Store a template",
		Description: "Presso extension. Stores an HTML template of this API key with its kind and that kind's options, and returns the stored template, id included. Render it with the /v1/template routes.",
		Tags:        tags, Security: bearer, MaxBodyBytes: s.opts.MaxBodyBytes, BodyReadTimeout: s.opts.BodyReadTimeout,
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 413, 503},
	}, s.createTemplate)

	huma.Register(s.api, huma.Operation{
		OperationID: "list-templates", Method: http.MethodGet, Path: "/v1/templates",
		Summary:     "List the templates",
		Description: "Presso extension. Returns every template of this API key, oldest first.",
		Tags:        tags, Security: bearer, Errors: []int{401, 503},
	}, s.listTemplates)

	huma.Register(s.api, huma.Operation{
		OperationID: "get-template", Method: http.MethodGet, Path: "/v1/templates/{id}",
		Summary:     "Get a template",
		Description: "Presso extension. Returns a template of this API key. A template of another key returns 404.",
		Tags:        tags, Security: bearer, Errors: []int{401, 404, 503},
	}, s.getTemplate)

	huma.Register(s.api, huma.Operation{
		OperationID: "replace-template", Method: http.MethodPut, Path: "/v1/templates/{id}",
		Summary:     "Replace a template",
		Description: "Presso extension. Replaces the whole template (name, kind, html and options) and keeps its id and creation time. The body has the fields of POST /v1/templates only: id, createdAt and updatedAt are rejected. A template of another key returns 404.",
		Tags:        tags, Security: bearer, MaxBodyBytes: s.opts.MaxBodyBytes, BodyReadTimeout: s.opts.BodyReadTimeout,
		Errors: []int{400, 401, 404, 413, 503},
	}, s.replaceTemplate)

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-template", Method: http.MethodDelete, Path: "/v1/templates/{id}",
		Summary:     "Delete a template",
		Description: "Presso extension. Deletes a template of this API key. Renders already accepted are not affected. A template of another key returns 404.",
		Tags:        tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{401, 404, 503},
	}, s.deleteTemplate)

	s.registerTemplateRenderRoutes(bearer)
}

func (s *Server) createTemplate(ctx context.Context, in *templateSpecInput) (*createdTemplateOutput, error) {
	spec := templates.Spec(in.Body)
	if errs := spec.Validate(); len(errs) > 0 {
		return nil, validationProblem(errs)
	}
	tpl := templates.New(keyName(ctx), spec)
	if err := s.opts.Templates.Create(ctx, tpl); err != nil {
		return nil, s.templateError(ctx, tpl.ID, err)
	}
	s.opts.Logger.Info("template created", "templateId", tpl.ID, "key", tpl.Key, "kind", tpl.Kind, "htmlBytes", len(tpl.HTML), "httpRequestId", requestID(ctx))
	return &createdTemplateOutput{Location: "/v1/templates/" + tpl.ID, Body: tpl}, nil
}

func (s *Server) listTemplates(ctx context.Context, _ *struct{}) (*templateListOutput, error) {
	list, err := s.opts.Templates.List(ctx, keyName(ctx))
	if err != nil {
		return nil, s.templateError(ctx, "", err)
	}
	return &templateListOutput{Body: TemplateList{Templates: list}}, nil
}

func (s *Server) getTemplate(ctx context.Context, in *templateIDInput) (*templateOutput, error) {
	tpl, err := s.opts.Templates.Get(ctx, keyName(ctx), in.ID)
	if err != nil {
		return nil, s.templateError(ctx, in.ID, err)
	}
	return &templateOutput{Body: tpl}, nil
}

func (s *Server) replaceTemplate(ctx context.Context, in *replaceTemplateInput) (*templateOutput, error) {
	spec := templates.Spec(in.Body)
	if errs := spec.Validate(); len(errs) > 0 {
		return nil, validationProblem(errs)
	}
	current, err := s.opts.Templates.Get(ctx, keyName(ctx), in.ID)
	if err != nil {
		return nil, s.templateError(ctx, in.ID, err)
	}
	tpl := current.Replaced(spec)
	if err := s.opts.Templates.Update(ctx, tpl); err != nil {
		return nil, s.templateError(ctx, in.ID, err)
	}
	s.opts.Logger.Info("template replaced", "templateId", tpl.ID, "key", tpl.Key, "kind", tpl.Kind, "htmlBytes", len(tpl.HTML), "httpRequestId", requestID(ctx))
	return &templateOutput{Body: tpl}, nil
}

func (s *Server) deleteTemplate(ctx context.Context, in *templateIDInput) (*struct{}, error) {
	if err := s.opts.Templates.Delete(ctx, keyName(ctx), in.ID); err != nil {
		return nil, s.templateError(ctx, in.ID, err)
	}
	s.opts.Logger.Info("template deleted", "templateId", in.ID, "key", keyName(ctx), "httpRequestId", requestID(ctx))
	return nil, nil
}

// templateError maps a store error to a problem: 404 for a template that
// does not exist or belongs to another key, 503 for a failing store.
func (s *Server) templateError(ctx context.Context, id string, err error) error {
	if errors.Is(err, templates.ErrNotFound) {
		return problemf(http.StatusNotFound, "template %s not found: check the id, and that the template was created with this API key", id)
	}
	s.opts.Logger.Error("template store failed", "templateId", id, "key", keyName(ctx), "httpRequestId", requestID(ctx), "error", err)
	return problemf(http.StatusServiceUnavailable, "the template store is unavailable: retry the request").withRetryAfter(5)
}

// validationProblem returns a 400 problem with one message per field error.
func validationProblem(errs []engine.FieldError) error {
	return newProblem(http.StatusBadRequest, "validation failed", fieldErrors(errs)...)
}

// templateHandler is the handler of the render routes of render.go for one
// kind and mode, called by the template routes once the template is filled.
type templateHandler[O any] func(context.Context, *renderInput) (*O, error)

// registerTemplateRenderRoutes adds /v1/template/{direct,sync,async}. Each
// fills the template, then calls the handler of the render route of the
// template's kind and the same mode, so that idempotency, queueing, time
// limits and errors behave exactly as on /v1/render.
func (s *Server) registerTemplateRenderRoutes(bearer []map[string][]string) {
	operation := func(mode engine.Mode) huma.Operation {
		return huma.Operation{
			OperationID: fmt.Sprintf("render-template-%s", mode),
			Method:      http.MethodPost,
			Path:        fmt.Sprintf("/v1/template/%s", mode),
			Summary:     "Render a stored template " + modeSummaries[mode],
			Description: "Fills the {* DOP_name *} tags of a template of this API key with templateData and renders it to the template's kind, with its options. " +
				"A tag without a value is rejected with 400 naming it, and an unknown template, or one of another key, with 404. " + modeDescriptions[mode],
			Tags:            []string{"Templates"},
			Security:        bearer,
			MaxBodyBytes:    s.opts.MaxBodyBytes,
			BodyReadTimeout: s.opts.BodyReadTimeout,
			DefaultStatus:   http.StatusOK,
			Metadata:        map[string]any{"rateLimited": true},
			Errors:          []int{400, 401, 404, 409, 413, 429, 503, 504},
		}
	}

	direct := operation(engine.ModeDirect)
	direct.Responses = map[string]*huma.Response{"200": templateBinaryResponse()}
	huma.Register(s.api, direct, renderTemplate(s, engine.ModeDirect, map[engine.Kind]templateHandler[directOutput]{
		engine.KindPDF: s.direct(engine.KindPDF), engine.KindScreenshot: s.direct(engine.KindScreenshot),
	}))
	huma.Register(s.api, operation(engine.ModeSync), renderTemplate(s, engine.ModeSync, map[engine.Kind]templateHandler[syncOutput]{
		engine.KindPDF: s.sync(engine.KindPDF), engine.KindScreenshot: s.sync(engine.KindScreenshot),
	}))
	huma.Register(s.api, operation(engine.ModeAsync), renderTemplate(s, engine.ModeAsync, map[engine.Kind]templateHandler[asyncOutput]{
		engine.KindPDF: s.async(engine.KindPDF), engine.KindScreenshot: s.async(engine.KindScreenshot),
	}))
}

// renderTemplate returns the handler of the template route of mode.
func renderTemplate[O any](s *Server, mode engine.Mode, byKind map[engine.Kind]templateHandler[O]) func(context.Context, *templateRenderInput) (*O, error) {
	return func(ctx context.Context, in *templateRenderInput) (*O, error) {
		kind, req, err := s.templateRequest(ctx, in, mode)
		if err != nil {
			return nil, err
		}
		handler, ok := byKind[kind]
		if !ok {
			return nil, problemf(http.StatusInternalServerError, "template %s has kind %q, which no route renders", in.Body.TemplateID, kind)
		}
		return handler(ctx, &renderInput{IdempotencyKey: in.IdempotencyKey, Body: req})
	}
}

// templateRequest loads the caller's template, fills it and returns the
// render request with the template's kind. Missing tags and invalid
// delivery options are reported together, in one 400 problem.
func (s *Server) templateRequest(ctx context.Context, in *templateRenderInput, mode engine.Mode) (engine.Kind, engine.RenderRequest, error) {
	tpl, err := s.opts.Templates.Get(ctx, keyName(ctx), in.Body.TemplateID)
	if err != nil {
		return "", engine.RenderRequest{}, s.templateError(ctx, in.Body.TemplateID, err)
	}

	var problems []engine.FieldError
	page, err := templates.RenderLimited(tpl.HTML, templateData(in), s.opts.Limits.MaxHTMLBytes)
	var missing *templates.MissingDataError
	switch {
	case errors.As(err, &missing):
		problems = append(problems, missing.FieldErrors()...)
	case errors.Is(err, templates.ErrPageTooLarge):
		problems = append(problems, engine.FieldError{Path: "templateData", Message: fmt.Sprintf(
			"templateData makes the page of template %s larger than %d bytes (limits.max_html_bytes): send shorter values or use fewer tags", tpl.ID, s.opts.Limits.MaxHTMLBytes)})
	case err != nil:
		problems = append(problems, engine.FieldError{Path: "templateData", Message: err.Error()})
	}

	filled := err == nil
	req := tpl.Request(page, in.Body.Doppio)
	violations := req.Validate(tpl.Kind, mode)
	if filled {
		violations = append(violations, s.opts.Limits.CheckRequest(&req)...)
	}
	for _, fe := range violations {
		isPage := fe.Path != "doppio" && !strings.HasPrefix(fe.Path, "doppio.")
		if isPage && !filled {
			// The page is empty because filling it failed, which the
			// problems above already report.
			continue
		}
		if isPage {
			// The stored template passed validation when it was stored,
			// but a rule added since then can still reject it.
			fe = engine.FieldError{Path: "templateId", Message: fmt.Sprintf("template %s no longer passes validation (%s): replace it with PUT /v1/templates/%s", tpl.ID, fe.Message, tpl.ID)}
		}
		problems = append(problems, fe)
	}
	if len(problems) > 0 {
		return "", engine.RenderRequest{}, validationProblem(problems)
	}
	return tpl.Kind, req, nil
}

// templateData returns the request's templateData decoded with every digit
// of its numbers kept, or huma's decoding if the raw body cannot be read.
func templateData(in *templateRenderInput) map[string]any {
	var body struct {
		TemplateData map[string]any `json:"templateData"`
	}
	dec := json.NewDecoder(bytes.NewReader(in.RawBody))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return in.Body.TemplateData
	}
	return body.TemplateData
}

// templateBinaryResponse documents the direct response, a PDF or an image
// depending on the template's kind.
func templateBinaryResponse() *huma.Response {
	content := map[string]*huma.MediaType{}
	for _, kind := range []engine.Kind{engine.KindPDF, engine.KindScreenshot} {
		for _, ct := range binaryTypes[kind] {
			content[ct] = &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}
		}
	}
	return &huma.Response{Description: "The rendered document: a PDF for a pdf template, an image for a screenshot template.", Content: content}
}

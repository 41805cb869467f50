package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presso-dev/presso/engine"
)

// Problem is every error body: an RFC 9457 problem document that also
// carries the three fields of the Doppio API (statusCode, error, message),
// so that clients of either kind can read it.
type Problem struct {
	StatusCode int      `json:"statusCode" doc:"HTTP status code, as the Doppio API reports it." example:"400"`
	ErrorName  string   `json:"error" doc:"HTTP status text." example:"Bad Request"`
	Message    []string `json:"message" doc:"One line per problem, each naming the field and the fix." example:"[\"page.setContent.html must be base64 encoded\"]"`
	Title      string   `json:"title" doc:"HTTP status text (RFC 9457)." example:"Bad Request"`
	Status     int      `json:"status" doc:"HTTP status code (RFC 9457)." example:"400"`
	Detail     string   `json:"detail,omitempty" doc:"Summary of the problem." example:"validation failed"`
	Errors     []Detail `json:"errors,omitempty" doc:"The problems with their locations."`

	headers http.Header
}

// Detail is one problem with its location in the request.
type Detail struct {
	Location string `json:"location,omitempty" doc:"Where the problem is: the dotted field path in the body, or a header." example:"page.setContent.html"`
	Message  string `json:"message" doc:"What is wrong and how to fix it." example:"page.setContent.html must be base64 encoded"`
}

func (p *Problem) Error() string { return strings.Join(p.Message, "; ") }

// GetStatus returns the HTTP status, for huma.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType marks error bodies as problem documents.
func (p *Problem) ContentType(string) string { return "application/problem+json" }

// GetHeaders returns headers to send with the error, such as Retry-After.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// newProblem replaces huma's error constructor, so that huma's own errors
// (schema validation, body too large) take the contract's shape as well.
// Validation failures are answered 400 as the Doppio API does, not 422.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusUnprocessableEntity {
		status = http.StatusBadRequest
	}
	if status == http.StatusRequestTimeout {
		msg = "the request body did not arrive in time (server.body_read_timeout): send it faster, or raise the setting"
	}
	text := http.StatusText(status)
	if status == statusClientClosedRequest {
		text = "Client Closed Request"
	}
	p := &Problem{
		StatusCode: status,
		ErrorName:  text,
		Title:      text,
		Status:     status,
		Detail:     msg,
	}
	// Where Presso's own checks found a problem with a field, their message
	// names the fix, so the schema's message about the same field is left
	// out rather than shown as a second, vaguer line.
	checked := map[string]bool{}
	for _, err := range errs {
		if fe, ok := err.(*fieldError); ok {
			checked[fe.detail.Location] = true
		}
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if _, own := err.(*fieldError); !own {
			if d, ok := err.(huma.ErrorDetailer); ok && checked[schemaField(d.ErrorDetail())] {
				continue
			}
		}
		detail := Detail{Message: err.Error()}
		if d, ok := err.(huma.ErrorDetailer); ok {
			detail = describe(d.ErrorDetail())
		}
		p.Errors = append(p.Errors, detail)
		p.Message = append(p.Message, detail.Message)
	}
	if len(p.Message) == 0 {
		p.Message = []string{msg}
	}
	return p
}

// schemaField returns the field that a schema problem is about: its
// location, or for a missing property the property's own location, where
// Presso's checks report it.
func schemaField(d *huma.ErrorDetail) string {
	if name, ok := strings.CutPrefix(d.Message, "expected required property "); ok {
		name, _, _ = strings.Cut(name, " ")
		return d.Location + "." + name
	}
	return d.Location
}

// fieldError is a problem with a field that Presso's own checks found, as
// opposed to one found by huma's schema validation.
type fieldError struct {
	detail huma.ErrorDetail
}

func (e *fieldError) Error() string { return e.detail.Error() }

// ErrorDetail returns the problem for newProblem.
func (e *fieldError) ErrorDetail() *huma.ErrorDetail { return &e.detail }

// fieldErrors converts violations of the body into errors for huma.
func fieldErrors(violations []engine.FieldError) []error {
	errs := make([]error, 0, len(violations))
	for _, fe := range violations {
		errs = append(errs, &fieldError{detail: huma.ErrorDetail{Location: "body." + fe.Path, Message: fe.Message}})
	}
	return errs
}

// describe rewrites a huma validation detail as a message that starts with
// the field path. The rejected value is left out on purpose: it may be a
// document, a password or a cookie.
func describe(d *huma.ErrorDetail) Detail {
	location := strings.TrimPrefix(strings.TrimPrefix(d.Location, "body."), "body")
	switch {
	case d.Message == "unexpected property":
		return Detail{Location: location, Message: fmt.Sprintf("property %s should not exist", location)}
	case location == "" || strings.HasPrefix(d.Message, location):
		return Detail{Location: location, Message: d.Message}
	default:
		return Detail{Location: location, Message: location + ": " + d.Message}
	}
}

// problemf returns a problem with one message.
func problemf(status int, format string, args ...any) *Problem {
	return newProblem(status, fmt.Sprintf(format, args...)).(*Problem)
}

// withRetryAfter adds a Retry-After header in seconds.
func (p *Problem) withRetryAfter(seconds int) *Problem {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	p.headers.Set("Retry-After", fmt.Sprint(seconds))
	return p
}

// statusClientClosedRequest is logged when a client hangs up before its
// direct or sync job finishes; the client never sees it.
const statusClientClosedRequest = 499

func init() {
	huma.NewError = newProblem
}

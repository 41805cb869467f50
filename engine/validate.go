package engine

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// FieldError is one invalid field of a request, with the dotted path of the
// field in the request body ("page.goto.url").
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Message }

// MaxWebhookURLLength bounds doppio.webhook.url; longer URLs are rejected
// before they reach a queue.
const MaxWebhookURLLength = 2048

// ReservedWebhookHeaders are the headers that Presso sets on a webhook call
// and that doppio.webhook.headers therefore may not contain.
var ReservedWebhookHeaders = []string{
	"content-type", "content-length", "host", "transfer-encoding", "connection",
	"x-doppio-request-id", "x-doppio-payload-signature", "x-doppio-render-status",
	"webhook-id", "webhook-timestamp", "webhook-signature",
}

// Validate checks what the JSON schema of the request cannot: one content
// source, base64 fields, URLs, and a webhook on async routes. It returns
// every violation, each with its field path, so that a caller fixes them
// all in one round.
func (r *RenderRequest) Validate(kind Kind, mode Mode) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	page := r.Page
	switch {
	case page.Goto != nil && page.SetContent != nil:
		add("page", "page must contain exactly one of goto and setContent, not both")
	case page.Goto == nil && page.SetContent == nil:
		add("page", "page must contain exactly one of goto (a URL) and setContent (base64 HTML)")
	}
	if page.Goto != nil && !isWebURL(page.Goto.URL) {
		add("page.goto.url", "page.goto.url must be an URL address: an absolute http or https URL with a host")
	}
	if page.SetContent != nil {
		if _, err := DecodeBase64(page.SetContent.HTML); err != nil {
			add("page.setContent.html", "page.setContent.html must be base64 encoded")
		}
	}

	if kind == KindPDF && page.PDF != nil {
		if _, err := DecodeBase64(page.PDF.HeaderTemplate); page.PDF.HeaderTemplate != "" && err != nil {
			add("page.pdf.headerTemplate", "page.pdf.headerTemplate must be base64 encoded")
		}
		if _, err := DecodeBase64(page.PDF.FooterTemplate); page.PDF.FooterTemplate != "" && err != nil {
			add("page.pdf.footerTemplate", "page.pdf.footerTemplate must be base64 encoded")
		}
	}
	if kind == KindScreenshot && page.Screenshot != nil && page.Screenshot.Quality != nil && r.ScreenshotType() == "png" {
		add("page.screenshot.quality", "page.screenshot.quality applies to jpeg and webp only: remove it or set page.screenshot.type")
	}

	if presigned := r.PresignedURL(); presigned != "" && !isWebURL(presigned) {
		add("doppio.presignedUrl", "doppio.presignedUrl must be an URL address: an absolute http or https presigned PUT URL")
	}

	webhook := r.Webhook()
	if mode == ModeAsync && webhook == nil {
		add("doppio.webhook", "doppio.webhook is required on async routes: give {\"url\": \"https://…\", \"method\": \"POST\"}")
	}
	if webhook != nil {
		errs = append(errs, validateWebhook(webhook)...)
	}
	return errs
}

func validateWebhook(w *Webhook) []FieldError {
	var errs []FieldError
	switch {
	case len(w.URL) > MaxWebhookURLLength:
		errs = append(errs, FieldError{"doppio.webhook.url", fmt.Sprintf("doppio.webhook.url must be at most %d characters", MaxWebhookURLLength)})
	case !isWebURL(w.URL):
		errs = append(errs, FieldError{"doppio.webhook.url", "doppio.webhook.url must be an URL address: an absolute http or https URL with a host"})
	}
	for name := range w.Headers {
		lower := strings.ToLower(name)
		for _, reserved := range ReservedWebhookHeaders {
			if lower == reserved {
				errs = append(errs, FieldError{"doppio.webhook.headers." + name, fmt.Sprintf("doppio.webhook.headers must not set %s: Presso sets it on every call", name)})
			}
		}
	}
	return errs
}

func isWebURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" && u.User == nil
}

// DecodeBase64 decodes a base64 field of a request. It accepts standard
// base64 with or without padding and ignores line breaks, because clients
// often wrap long values the way the base64 tool does.
func DecodeBase64(s string) ([]byte, error) {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	if decoded, err := base64.StdEncoding.DecodeString(s); err == nil {
		return decoded, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

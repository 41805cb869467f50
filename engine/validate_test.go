package engine

import (
	"strings"
	"testing"
)

func TestValidateRejectsBadRequests(t *testing.T) {
	html := "PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="
	hook := &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/hook", Method: "POST"}}
	cases := []struct {
		name string
		req  RenderRequest
		mode Mode
		path string
		text string
	}{
		{"both sources", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "https://example.com"}, SetContent: &SetContentOptions{HTML: html}}}, ModeSync, "page", "not both"},
		{"no source", RenderRequest{}, ModeSync, "page", "exactly one"},
		{"html not base64", RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "<p>hi</p>"}}}, ModeSync, "page.setContent.html", "page.setContent.html must be base64 encoded"},
		{"relative url", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "/invoice"}}}, ModeSync, "page.goto.url", "must be an URL address"},
		{"ftp url", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "ftp://example.com/a"}}}, ModeSync, "page.goto.url", "http or https"},
		{"async without webhook", RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook", "required on async"},
		{"webhook not a url", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "not a url"}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.url", "must be an URL"},
		{"webhook url too long", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/" + strings.Repeat("a", 3000)}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.url", "at most 2048"},
		{"reserved webhook header", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/h", Headers: map[string]string{"X-Doppio-Payload-Signature": "forged"}}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.headers.X-Doppio-Payload-Signature", "must not set"},
		{"footer not base64", RenderRequest{Doppio: hook, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}, PDF: &PDFOptions{FooterTemplate: "<span>"}}}, ModeAsync, "page.pdf.footerTemplate", "base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.req.Validate(KindPDF, tc.mode)
			if len(errs) == 0 {
				t.Fatalf("expected a violation at %s, got none", tc.path)
			}
			if errs[0].Path != tc.path {
				t.Errorf("path = %q, want %q", errs[0].Path, tc.path)
			}
			if !strings.Contains(errs[0].Message, tc.text) {
				t.Errorf("message %q does not contain %q", errs[0].Message, tc.text)
			}
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	req := RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "%%%"}}}
	errs := req.Validate(KindPDF, ModeAsync)
	if len(errs) != 2 {
		t.Fatalf("expected 2 violations (html and webhook), got %v", errs)
	}
}

func TestValidateAcceptsDoppioExample(t *testing.T) {
	req := RenderRequest{
		Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/hook", Method: "POST"}},
		Page:   PageOptions{SetContent: &SetContentOptions{HTML: "PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="}},
	}
	if errs := req.Validate(KindPDF, ModeAsync); len(errs) != 0 {
		t.Fatalf("unexpected violations: %v", errs)
	}
}

func TestDecodeBase64AcceptsWrappedAndUnpadded(t *testing.T) {
	for _, in := range []string{"aGVsbG8=", "aGVsbG8", "aGVs\nbG8="} {
		out, err := DecodeBase64(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if string(out) != "hello" {
			t.Errorf("%q decoded to %q", in, out)
		}
	}
}

package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/presso-dev/presso/engine"
)

// tagPattern matches a {* DOP_name *} tag. The spaces inside the braces
// are optional, and the DOP_ prefix is part of the name.
var tagPattern = regexp.MustCompile(`\{\*\s*(DOP_[A-Za-z0-9_]+)\s*\*\}`)

// MissingDataError is returned by Render when the template uses tags that
// templateData has no value for.
type MissingDataError struct {
	// Names lists the missing names ("DOP_total") in the order of their
	// first tag in the template.
	Names []string
}

func (e *MissingDataError) Error() string {
	messages := make([]string, len(e.Names))
	for i, fe := range e.FieldErrors() {
		messages[i] = fe.Message
	}
	return strings.Join(messages, "; ")
}

// FieldErrors returns one error per missing name, with its path in the
// request body ("templateData.DOP_total").
func (e *MissingDataError) FieldErrors() []engine.FieldError {
	errs := make([]engine.FieldError, len(e.Names))
	for i, name := range e.Names {
		errs[i] = engine.FieldError{
			Path:    "templateData." + name,
			Message: fmt.Sprintf("templateData.%s is missing: the template uses {* %s *}", name, name),
		}
	}
	return errs
}

// Render returns the page of a template: Substitute, then InjectData.
func Render(page string, data map[string]any) (string, error) {
	return RenderLimited(page, data, 0)
}

// ErrPageTooLarge is returned by RenderLimited when the filled page would
// pass its bound.
var ErrPageTooLarge = errors.New("filled template too large")

// RenderLimited is Render with a bound on the filled page's size in bytes;
// 0 means no bound. It stops filling as soon as the bound is passed, so a
// template that repeats a tag many times cannot make it build a huge page.
func RenderLimited(page string, data map[string]any, maxBytes int) (string, error) {
	filled, err := substitute(page, data, maxBytes)
	if err != nil {
		return "", err
	}
	filled, err = InjectData(filled, data)
	if err == nil && maxBytes > 0 && len(filled) > maxBytes {
		return "", ErrPageTooLarge
	}
	return filled, err
}

// Substitute replaces each {* DOP_name *} tag of page with data["DOP_name"]
// in one pass, so a value that contains a tag is not substituted again:
//
//   - a string, HTML-escaped;
//   - a number or a boolean, as its JSON text;
//   - an object or an array, as compact JSON text, HTML-escaped;
//   - null, as nothing.
//
// A tag whose name is not a key of data is an error: a *MissingDataError
// naming every such tag.
//
// HTML escaping suits tags in text and in quoted attribute values. Inside
// a <script> the escaped text is not JavaScript; scripts should read
// window.doppioData instead.
func Substitute(page string, data map[string]any) (string, error) {
	return substitute(page, data, 0)
}

func substitute(page string, data map[string]any, maxBytes int) (string, error) {
	matches := tagPattern.FindAllStringSubmatchIndex(page, -1)
	texts := map[string]string{}
	var out strings.Builder
	out.Grow(len(page))
	var missing []string
	last := 0
	for _, m := range matches {
		name := page[m[2]:m[3]]
		value, ok := data[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			continue
		}
		text, seen := texts[name]
		if !seen {
			var err error
			if text, err = valueText(value); err != nil {
				return "", fmt.Errorf("templateData.%s: %w", name, err)
			}
			texts[name] = text
		}
		out.WriteString(page[last:m[0]])
		out.WriteString(text)
		last = m[1]
		if maxBytes > 0 && out.Len() > maxBytes {
			return "", ErrPageTooLarge
		}
	}
	if len(missing) > 0 {
		return "", &MissingDataError{Names: missing}
	}
	out.WriteString(page[last:])
	return out.String(), nil
}

// valueText returns the HTML text that replaces a tag whose value is value.
func valueText(value any) (string, error) {
	switch v := value.(type) {
	case nil:
		return "", nil
	case string:
		return html.EscapeString(v), nil
	case bool:
		return strconv.FormatBool(v), nil
	case json.Number:
		return html.EscapeString(v.String()), nil
	}
	text, err := compactJSON(value)
	if err != nil {
		return "", err
	}
	return html.EscapeString(text), nil
}

// compactJSON returns value as compact JSON without escaping <, > and &,
// which the caller escapes for HTML: in a page, "\u003c" would show as
// those six characters instead of "<".
func compactJSON(value any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// InjectData inserts a script that sets window.doppioData to data ({} when
// nil) where it runs before any script of page: right after the <head> tag,
// or, without one, after the doctype and the <html> tag, if any. Inserting
// it before the doctype would put the page in quirks mode.
//
// The script parses a JSON string with JSON.parse, so the object keeps
// exactly the keys of data ("__proto__" included), and the string escapes
// <, >, &, U+2028 and U+2029, so no value can close the script, open a
// comment or end a JavaScript line.
func InjectData(page string, data map[string]any) (string, error) {
	if data == nil {
		data = map[string]any{}
	}
	object, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("templateData cannot be written as JSON: %w", err)
	}
	literal, err := json.Marshal(string(object))
	if err != nil {
		return "", err
	}
	script := "<script>window.doppioData=JSON.parse(" + string(literal) + ");</script>"
	at := scriptPosition(page)
	return page[:at] + script + page[at:], nil
}

// scriptPosition returns the offset in page at which an inserted script
// runs first. It reads only the page's prologue: byte-order mark,
// whitespace, comments, doctype, the <html> start tag and the <head> start
// tag. A <head> tag after other content is ignored by browsers, and a
// script inserted before that content lands in the implied head.
func scriptPosition(page string) int {
	i := skipProlog(page, 0)
	if end, ok := startTag(page, i, "html"); ok {
		i = skipProlog(page, end)
	}
	if end, ok := startTag(page, i, "head"); ok {
		return end
	}
	return i
}

// skipProlog returns the offset after the byte-order mark, whitespace,
// comments and declarations (<!doctype …>, <?…>) that start page[i:].
func skipProlog(page string, i int) int {
	if strings.HasPrefix(page[i:], "\uFEFF") {
		i += len("\uFEFF")
	}
	for {
		for i < len(page) && isHTMLSpace(page[i]) {
			i++
		}
		rest := page[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				// An unclosed comment hides the rest of the page, but a
				// script before it still runs.
				return i
			}
			i += 4 + end + 3
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return i
			}
			i += end + 1
		default:
			return i
		}
	}
}

// startTag reports whether page[i:] starts with the start tag <name …>,
// case-insensitively and not as the prefix of a longer name such as
// <header>, and returns the offset after its '>'. Quoted attribute values
// may contain '>'.
func startTag(page string, i int, name string) (int, bool) {
	open := "<" + name
	if len(page)-i < len(open)+1 || !strings.EqualFold(page[i:i+len(open)], open) {
		return 0, false
	}
	j := i + len(open)
	if c := page[j]; c != '>' && c != '/' && !isHTMLSpace(c) {
		return 0, false
	}
	var quote byte
	for ; j < len(page); j++ {
		c := page[j]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return j + 1, true
		}
	}
	return 0, false
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

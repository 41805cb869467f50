package templates

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// injected returns the script that InjectData inserts for data.
func injected(t testing.TB, data map[string]any) string {
	t.Helper()
	out, err := InjectData("", data)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// decodeInjected returns the object that the first script of page sets
// window.doppioData to, decoded as JSON.parse would.
func decodeInjected(t testing.TB, page string) map[string]any {
	t.Helper()
	const open = "<script>window.doppioData=JSON.parse("
	start := strings.Index(page, open)
	end := strings.Index(page, ");</script>")
	if start < 0 || end < start {
		t.Fatalf("no doppioData script in %q", page)
	}
	var text string
	if err := json.Unmarshal([]byte(page[start+len(open):end]), &text); err != nil {
		t.Fatalf("the script's argument is not a JSON string: %v", err)
	}
	var data map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		t.Fatalf("the script's string is not a JSON object: %v", err)
	}
	return data
}

func TestSubstitute(t *testing.T) {
	data := map[string]any{
		"DOP_name":   "Ann <b>& \"Bob\"",
		"DOP_total":  json.Number("12345678901234567890"),
		"DOP_float":  50.5,
		"DOP_int":    3,
		"DOP_paid":   false,
		"DOP_none":   nil,
		"DOP_items":  []any{"a<b", 2.0, true},
		"DOP_client": map[string]any{"name": "<script>x</script>", "vip": true},
		"DOP_tag":    "{* DOP_name *}",
		"other":      "not a tag",
	}
	cases := []struct{ page, want string }{
		{"<p>{* DOP_name *}</p>", "<p>Ann &lt;b&gt;&amp; &#34;Bob&#34;</p>"},
		{"{*DOP_name*}|{*   DOP_name\n*}", "Ann &lt;b&gt;&amp; &#34;Bob&#34;|Ann &lt;b&gt;&amp; &#34;Bob&#34;"},
		{"{* DOP_total *} {* DOP_float *} {* DOP_int *} {* DOP_paid *}", "12345678901234567890 50.5 3 false"},
		{"[{* DOP_none *}]", "[]"},
		{"{* DOP_items *}", "[&#34;a&lt;b&#34;,2,true]"},
		{"{* DOP_client *}", "{&#34;name&#34;:&#34;&lt;script&gt;x&lt;/script&gt;&#34;,&#34;vip&#34;:true}"},
		{"{* DOP_tag *}", "{* DOP_name *}"},
		{"{* other *} {* dop_name *} {* DOP_a-b *} { * DOP_name * }", "{* other *} {* dop_name *} {* DOP_a-b *} { * DOP_name * }"},
		{"no tags at all", "no tags at all"},
	}
	for _, tc := range cases {
		got, err := Substitute(tc.page, data)
		if err != nil {
			t.Errorf("Substitute(%q): %v", tc.page, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Substitute(%q)\n got %q\nwant %q", tc.page, got, tc.want)
		}
	}
}

func TestSubstituteMissingTags(t *testing.T) {
	page := "{* DOP_total *} {* DOP_name *} {*DOP_total*} {* DOP_due *}"
	_, err := Substitute(page, map[string]any{"DOP_name": "Ann"})
	var missing *MissingDataError
	if !errors.As(err, &missing) {
		t.Fatalf("error %v, want a *MissingDataError", err)
	}
	if want := []string{"DOP_total", "DOP_due"}; !reflect.DeepEqual(missing.Names, want) {
		t.Errorf("missing %v, want %v", missing.Names, want)
	}
	fields := missing.FieldErrors()
	if fields[0].Path != "templateData.DOP_total" || fields[0].Message != "templateData.DOP_total is missing: the template uses {* DOP_total *}" {
		t.Errorf("first field error %+v", fields[0])
	}
	if !strings.Contains(err.Error(), "templateData.DOP_due is missing") {
		t.Errorf("error text %q names not every tag", err)
	}
}

func TestInjectDataPosition(t *testing.T) {
	data := map[string]any{"DOP_name": "Ann"}
	script := injected(t, data)
	cases := []struct{ name, page, want string }{
		{"head", "<!DOCTYPE html><html><head><title>x</title><script>own()</script></head></html>",
			"<!DOCTYPE html><html><head>" + script + "<title>x</title><script>own()</script></head></html>"},
		{"head with attributes", "<HTML lang=\"en\">\n<Head data-x='a>b'>\n<script src=a.js></script>",
			"<HTML lang=\"en\">\n<Head data-x='a>b'>" + script + "\n<script src=a.js></script>"},
		{"no head", "<!doctype html>\n<!-- c -->\n<html><body><script>own()</script></body></html>",
			"<!doctype html>\n<!-- c -->\n<html>" + script + "<body><script>own()</script></body></html>"},
		{"header is not head", "<header>h</header><script>own()</script>",
			script + "<header>h</header><script>own()</script>"},
		{"fragment", "<p>hi</p>", script + "<p>hi</p>"},
		{"head in a comment", "<!-- <head> --><p>x</p>", "<!-- <head> -->" + script + "<p>x</p>"},
		{"head after content", "<p>x</p><head></head>", script + "<p>x</p><head></head>"},
		{"byte-order mark", "\uFEFF<!doctype html><head></head>", "\uFEFF<!doctype html><head>" + script + "</head>"},
		{"unclosed comment", "<!doctype html><!-- <head>", "<!doctype html>" + script + "<!-- <head>"},
		{"unclosed head tag", "<head data-x=\"", script + "<head data-x=\""},
		{"empty", "", script},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := InjectData(tc.page, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestInjectDataEscapesForScript(t *testing.T) {
	data := map[string]any{
		"DOP_x":     "</script><script>alert(1)</script><!-- \u2028\u2029 & '\"",
		"</script>": []any{"<!--", map[string]any{"a": "-->"}},
		"__proto__": map[string]any{"polluted": true},
		"n":         json.Number("12345678901234567890"),
	}
	page, err := InjectData("<head></head>", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"</script><script>", "<!--", "-->", "\u2028", "\u2029", "alert(1)</script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q unescaped: %q", bad, page)
		}
	}
	if n := strings.Count(page, "<"); n != 4 {
		t.Errorf("page has %d '<', want the 4 of <head>, </head> and the script tags: %q", n, page)
	}
	got := decodeInjected(t, page)
	want := map[string]any{}
	raw, _ := json.Marshal(data)
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	dec.Decode(&want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("window.doppioData is\n %v\nwant %v", got, want)
	}
}

func TestInjectDataWithoutData(t *testing.T) {
	page, err := InjectData("<p>x</p>", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(page, `<script>window.doppioData=JSON.parse("{}");</script>`) {
		t.Errorf("page %q: want doppioData set to {} without templateData", page)
	}
}

func TestRender(t *testing.T) {
	page := "<html><head><script>document.title = window.doppioData.DOP_name</script></head><body>{* DOP_name *}</body></html>"
	got, err := Render(page, map[string]any{"DOP_name": "<script>alert(1)</script>"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "<script>alert") {
		t.Errorf("data reached the page as markup: %q", got)
	}
	ours := strings.Index(got, "window.doppioData=JSON.parse")
	theirs := strings.Index(got, "document.title")
	if ours < 0 || theirs < ours {
		t.Errorf("the doppioData script does not run first: %q", got)
	}
	if !strings.Contains(got, "<body>&lt;script&gt;alert(1)&lt;/script&gt;</body>") {
		t.Errorf("body not substituted: %q", got)
	}

	if _, err := Render("{* DOP_x *}", nil); err == nil {
		t.Error("Render with a missing tag succeeded")
	}
}

// FuzzRender checks that Render never panics, that no '<' of the data
// reaches the page outside the page's own markup and the two of the
// inserted script tags, and that the script carries the data intact.
func FuzzRender(f *testing.F) {
	seeds := []struct{ page, key, value string }{
		{"<p>{* DOP_name *}</p>", "DOP_name", "Ann"},
		{"<head></head>{* DOP_x *}", "DOP_x", "</script><script>alert(1)</script>"},
		{"{*DOP_x*}{* DOP_x *}", "DOP_x", "<!-- \u2028 -->"},
		{"{* DOP_missing *}", "DOP_x", "x"},
		{"<!doctype html><html lang=en><head data-a='>'>", "DOP_a", "{* DOP_a *}"},
		{"<!-- unclosed", "</script>", "<"},
		{"\uFEFF<HEAD>{* DOP_\u00e9 *}", "DOP_\u00e9", "&lt;"},
		{"<head", "__proto__", "\x00\xff"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.page, s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, page, key, value string) {
		data := map[string]any{
			key:         value,
			"DOP_list":  []any{value, map[string]any{key: value}},
			"DOP_value": value,
		}
		out, err := Render(page, data)
		if err != nil {
			var missing *MissingDataError
			if !errors.As(err, &missing) || len(missing.Names) == 0 {
				t.Fatalf("Render failed with %v, want only *MissingDataError", err)
			}
			for _, name := range missing.Names {
				if _, ok := data[name]; ok {
					t.Fatalf("%s is reported missing but is in data", name)
				}
			}
			return
		}
		if got, want := strings.Count(out, "<"), strings.Count(page, "<")+2; got != want {
			t.Fatalf("output has %d '<', want %d (the page's and the script's): %q", got, want, out)
		}
		if !strings.Contains(out, "window.doppioData=") {
			t.Fatalf("no doppioData script in %q", out)
		}
		if utf8.ValidString(key) && utf8.ValidString(value) {
			got := decodeInjected(t, out)
			if got[key] != value {
				t.Fatalf("doppioData[%q] = %#v, want %#v", key, got[key], value)
			}
		}
	})
}

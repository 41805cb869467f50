package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIDocumentsEveryField walks the schemas of the OpenAPI document:
// every property must have a description, and every property of a scalar
// or a list of scalars must have an example, so that the document alone is
// enough to write a client.
func TestOpenAPIDocumentsEveryField(t *testing.T) {
	server := newTestServer(t, &countingRunner{})
	resp, err := http.Get(server.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Components.Schemas) < 10 {
		t.Fatalf("only %d schemas in the document", len(doc.Components.Schemas))
	}

	var missing []string
	for name, s := range doc.Components.Schemas {
		if name == "ErrorDetail" || strings.HasPrefix(name, "Problem") {
			continue
		}
		for prop, p := range s.Properties {
			where := name + "." + prop
			if prop == "$schema" {
				continue
			}
			if strings.TrimSpace(p.Description) == "" {
				missing = append(missing, where+": description")
			}
			if p.isScalar() && len(p.Examples) == 0 && p.Example == nil {
				missing = append(missing, where+": example")
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("undocumented: %s", m)
	}
}

type schema struct {
	Type        any               `json:"type"`
	Ref         string            `json:"$ref"`
	Description string            `json:"description"`
	Examples    []any             `json:"examples"`
	Example     any               `json:"example"`
	Items       *schema           `json:"items"`
	OneOf       []schema          `json:"oneOf"`
	Properties  map[string]schema `json:"properties"`
}

func (s schema) isScalar() bool {
	if s.Ref != "" || len(s.Properties) > 0 {
		return false
	}
	kind := s.Type
	if list, ok := s.Type.([]any); ok && len(list) > 0 {
		kind = list[0] // nullable types are written ["array", "null"]
	}
	switch kind {
	case "object":
		return false
	case "array":
		return s.Items != nil && s.Items.Ref == "" && s.Items.Type != "object"
	}
	return true
}

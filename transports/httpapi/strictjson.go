package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/presso-dev/presso/engine"
)

// checkKeys finds the object keys of a JSON body that Go's decoder would
// accept but the contract does not: a key that differs from a field name
// only in case (encoding/json matches names case-insensitively, so
// "Width" would silently set width past the schema's checks), and a key
// that appears twice in one object (the last one would win). Values of
// types with their own decoding are not walked.
func checkKeys(body []byte, t reflect.Type) []engine.FieldError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var errs []engine.FieldError
	walkValue(dec, t, "", &errs)
	return errs
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	lengthType      = reflect.TypeFor[engine.Length]()
)

// checkLength checks the JSON token of a length at path. The schema can only
// report that such a value matched neither of its two forms, and the decoder's
// error does not name the field, so this check gives the message that does.
func checkLength(token json.Token, path string) *engine.FieldError {
	switch v := token.(type) {
	case string:
		if _, err := engine.ParseLength(v); err != nil {
			return &engine.FieldError{Path: path, Message: path + ": " + err.Error()}
		}
		return nil
	case json.Number:
		if f, err := v.Float64(); err == nil && f < 0 {
			return &engine.FieldError{Path: path, Message: fmt.Sprintf("%s must not be negative, got %s", path, v)}
		}
		return nil
	case nil:
		return nil
	}
	return &engine.FieldError{Path: path, Message: path + ` must be a number of pixels or a string with the unit px, in, cm or mm, such as "20mm"`}
}

func walkValue(dec *json.Decoder, t reflect.Type, path string, errs *[]engine.FieldError) {
	token, err := dec.Token()
	if err != nil {
		return
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == lengthType {
		if fe := checkLength(token, path); fe != nil {
			*errs = append(*errs, *fe)
		}
	}
	if t != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		t = nil // decoded by its own rules; only its shape is skipped
	}
	switch token {
	case json.Delim('{'):
		walkObject(dec, t, path, errs)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			walkValue(dec, elem, fmt.Sprintf("%s[%d]", path, i), errs)
		}
		dec.Token() // ]
	}
}

func walkObject(dec *json.Decoder, t reflect.Type, path string, errs *[]engine.FieldError) {
	fields := map[string]reflect.Type{}
	isStruct := t != nil && t.Kind() == reflect.Struct
	if isStruct {
		collectFields(t, fields)
	}
	seen := map[string]bool{}
	for dec.More() {
		keyToken, err := dec.Token()
		if err != nil {
			return
		}
		key, _ := keyToken.(string)
		child := joinPath(path, key)
		if seen[key] {
			*errs = append(*errs, engine.FieldError{Path: child, Message: fmt.Sprintf("property %s appears twice: give each property once", child)})
		}
		seen[key] = true

		var childType reflect.Type
		switch {
		case isStruct:
			fieldType, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						*errs = append(*errs, engine.FieldError{Path: child, Message: fmt.Sprintf("property %s should not exist: property names are case-sensitive, use %s", child, joinPath(path, name))})
						break
					}
				}
			}
			childType = fieldType
		case t != nil && t.Kind() == reflect.Map:
			childType = t.Elem()
		}
		walkValue(dec, childType, child, errs)
	}
	dec.Token() // }
}

// collectFields maps the JSON names of t's fields to their types.
func collectFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			if f.Anonymous {
				collectFields(f.Type, fields)
				continue
			}
			name = f.Name
		}
		fields[name] = f.Type
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Length is a paper dimension or margin: a JSON number of CSS pixels, or a
// string with a unit ("210mm", "8.5in", "2cm", "30px"), as Puppeteer accepts.
type Length struct {
	// Inches is the length converted to inches, the unit of Chromium's print API.
	Inches float64
	// Text is the value as the request gave it, kept so that the job
	// survives a JSON round trip unchanged.
	Text string
	// quoted records that the request gave a string, so that a unitless
	// string such as "48" is written back as a string.
	quoted bool
}

var lengthPattern = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?|\.\d+)\s*(px|in|cm|mm)?\s*$`)

// Units per inch of the CSS length units that Puppeteer supports.
var unitsPerInch = map[string]float64{"px": 96, "in": 1, "cm": 2.54, "mm": 25.4}

// ParseLength reads a length string; a bare number is CSS pixels.
func ParseLength(s string) (Length, error) {
	m := lengthPattern.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return Length{}, fmt.Errorf("invalid length %q: use a number of pixels or a number with the unit px, in, cm or mm, such as \"20mm\"", s)
	}
	value, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return Length{}, fmt.Errorf("invalid length %q: %w", s, err)
	}
	unit := m[2]
	if unit == "" {
		unit = "px"
	}
	return Length{Inches: value / unitsPerInch[unit], Text: s, quoted: true}, nil
}

// UnmarshalJSON accepts a number of pixels or a length string.
func (l *Length) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		parsed, err := ParseLength(s)
		if err != nil {
			return err
		}
		parsed.quoted = true
		*l = parsed
		return nil
	}
	var px float64
	if err := json.Unmarshal(data, &px); err != nil {
		return fmt.Errorf("invalid length %s: use a number of pixels or a string such as \"20mm\"", data)
	}
	if px < 0 {
		return fmt.Errorf("invalid length %s: must not be negative", data)
	}
	*l = Length{Inches: px / 96, Text: string(data)}
	return nil
}

// MarshalJSON writes the length as the request gave it.
func (l Length) MarshalJSON() ([]byte, error) {
	if l.Text == "" {
		return []byte(strconv.FormatFloat(l.Inches*96, 'f', -1, 64)), nil
	}
	if l.quoted {
		return json.Marshal(l.Text)
	}
	return []byte(l.Text), nil
}

// Schema describes a length in the OpenAPI document as a number or a string.
func (l Length) Schema(r huma.Registry) *huma.Schema {
	minimum := 0.0
	return &huma.Schema{
		OneOf: []*huma.Schema{
			{Type: huma.TypeNumber, Minimum: &minimum, Description: "CSS pixels, 96 per inch."},
			{Type: huma.TypeString, Pattern: lengthPattern.String(), Description: "A number with the unit px, in, cm or mm."},
		},
		Examples: []any{"20mm"},
	}
}

package engine

import (
	"encoding/json"
	"math"
	"testing"
)

func TestLengthUnits(t *testing.T) {
	cases := map[string]float64{`"1in"`: 1, `"25.4mm"`: 1, `"2.54cm"`: 1, `"96px"`: 1, `96`: 1, `"48"`: 0.5}
	for in, inches := range cases {
		var l Length
		if err := json.Unmarshal([]byte(in), &l); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if math.Abs(l.Inches-inches) > 1e-9 {
			t.Errorf("%s = %v in, want %v", in, l.Inches, inches)
		}
		out, err := json.Marshal(l)
		if err != nil || string(out) != in {
			t.Errorf("%s marshalled back as %s (%v)", in, out, err)
		}
	}
}

func TestLengthRejectsBadValues(t *testing.T) {
	for _, in := range []string{`"10em"`, `"abc"`, `-5`, `true`} {
		var l Length
		if err := json.Unmarshal([]byte(in), &l); err == nil {
			t.Errorf("%s was accepted", in)
		}
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	p := DeliveryPolicy{InitialBackoff: 100, MaxBackoff: 1000}.withDefaults()
	for attempt := 1; attempt <= 10; attempt++ {
		ceiling := min(100<<(attempt-1), 1000)
		for range 50 {
			if d := p.Backoff(attempt); d <= 0 || int(d) > ceiling {
				t.Fatalf("attempt %d: pause %d outside (0, %d]", attempt, d, ceiling)
			}
		}
	}
}

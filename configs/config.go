// Package configs loads Presso's configuration with koanf: the defaults of
// presso.yaml, embedded in the binary so that the documented defaults and
// the real ones cannot drift apart, then a YAML file, environment variables
// and flags.
package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"

	"github.com/presso-dev/presso/engine"
)

//go:embed presso.yaml
var defaultsYAML []byte

// EnvPrefix starts every environment variable that Presso reads.
const EnvPrefix = "PRESSO_"

// Config is the loaded configuration. It implements engine.ConfigSource.
type Config struct {
	k *koanf.Koanf
}

var _ engine.ConfigSource = (*Config)(nil)

// Load layers the defaults, the YAML file at path (skipped when empty), the
// PRESSO_ environment variables and overrides (dotted keys, from flags).
func Load(path string, overrides map[string]any) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(defaultsYAML), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("read built-in defaults: %w", err)
	}
	known := k.Keys()
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("configuration file: %w", err)
		}
		fileLayer := koanf.New(".")
		if err := fileLayer.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("read configuration file %s: %w", path, err)
		}
		if err := checkKnown(fileLayer.Keys(), known, "configuration file "+path); err != nil {
			return nil, err
		}
		if err := k.Merge(fileLayer); err != nil {
			return nil, err
		}
	}
	envProvider := env.Provider(".", env.Opt{
		Prefix: EnvPrefix,
		TransformFunc: func(key, value string) (string, any) {
			key = strings.ToLower(strings.TrimPrefix(key, EnvPrefix))
			return strings.ReplaceAll(key, "__", "."), value
		},
	})
	if err := k.Load(envProvider, nil); err != nil {
		return nil, fmt.Errorf("read %s environment variables: %w", EnvPrefix, err)
	}
	if len(overrides) > 0 {
		flagLayer := koanf.New(".")
		if err := flagLayer.Load(confmap.Provider(overrides, "."), nil); err != nil {
			return nil, fmt.Errorf("apply flags: %w", err)
		}
		if err := checkKnown(flagLayer.Keys(), known, "--set"); err != nil {
			return nil, err
		}
		if err := k.Merge(flagLayer); err != nil {
			return nil, err
		}
	}
	if k.String("server.public_url") == "" {
		if err := k.Set("server.public_url", "http://"+k.String("server.addr")); err != nil {
			return nil, err
		}
	}
	return &Config{k: k}, nil
}

// checkKnown rejects keys that configs/presso.yaml does not define, so that
// a misspelt setting fails at start instead of leaving its default in
// place. A key below a list (auth.keys[].name) counts as its list's key.
// Environment variables are not checked: unrelated PRESSO_ variables are
// common in shells and CI.
func checkKnown(keys, known []string, where string) error {
	knownSet := map[string]bool{}
	for _, key := range known {
		knownSet[key] = true
	}
	var unknown []string
	for _, key := range keys {
		if !knownSet[key] && !underList(key, knownSet) {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	message := fmt.Sprintf("%s sets unknown configuration keys: %s", where, strings.Join(unknown, ", "))
	if hint := closestKey(unknown[0], known); hint != "" {
		message += fmt.Sprintf(" (did you mean %s?)", hint)
	}
	return errors.New(message + "; every key is listed in configs/presso.yaml")
}

// underList reports whether key lies below a known key whose value is a
// list or a free-form map, such as auth.keys.
func underList(key string, known map[string]bool) bool {
	for prefix := key; strings.Contains(prefix, "."); {
		prefix = prefix[:strings.LastIndex(prefix, ".")]
		if known[prefix] {
			return true
		}
	}
	return false
}

// closestKey returns the known key with the smallest edit distance to key,
// when it is close enough to be a typo.
func closestKey(key string, known []string) string {
	best, bestDistance := "", 4
	for _, candidate := range known {
		if d := editDistance(key, candidate); d < bestDistance {
			best, bestDistance = candidate, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current := make([]int, len(b)+1)
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous = current
	}
	return previous[len(b)]
}

// Unmarshal decodes the keys below path into out. Strings such as "30s"
// become time.Duration values, and a comma-separated string from an
// environment variable becomes a list.
func (c *Config) Unmarshal(path string, out any) error {
	err := c.k.UnmarshalWithConf(path, out, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				durationWithUnit,
				mapstructure.StringToTimeDurationHookFunc(),
				mapstructure.StringToSliceHookFunc(","),
				mapstructure.TextUnmarshallerHookFunc(),
			),
			Result:           out,
			WeaklyTypedInput: true,
			ErrorUnused:      false,
		},
	})
	if err != nil {
		return fmt.Errorf("configuration %s: %s", path, describeDecodeError(path, err))
	}
	return nil
}

// durationWithUnit rejects a bare number where a duration is expected:
// YAML's `timeout: 30` would otherwise mean 30 nanoseconds. It also rejects
// negative durations, which no setting has a use for.
func durationWithUnit(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration: give a number with a unit, such as 500ms, 30s or 10m", v)
		}
		if d < 0 {
			return nil, fmt.Errorf("%q is negative: give 0 or more, with a unit such as 30s", v)
		}
		return d, nil
	case time.Duration:
		return v, nil
	}
	if from.Kind() >= reflect.Int && from.Kind() <= reflect.Float64 {
		return nil, fmt.Errorf("%v has no unit: give a duration such as %vs or %vms", data, data, data)
	}
	return data, nil
}

// decodedField matches a field name quoted in mapstructure's errors.
var decodedField = regexp.MustCompile(`'([A-Za-z0-9_.\[\]]+)'`)

// describeDecodeError names the whole key in mapstructure's error, which
// quotes the field relative to path, and adds the fix for a bad duration.
func describeDecodeError(path string, err error) string {
	msg := err.Error()
	if path != "" {
		msg = decodedField.ReplaceAllString(msg, path+".$1")
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if strings.Contains(msg, "invalid duration") {
		msg += ": give a duration with a unit, such as 500ms, 30s or 10m"
	}
	return msg
}

// CheckNotNegative returns an error naming the first key below path whose
// value is a negative number.
func (c *Config) CheckNotNegative(path string) error {
	for _, key := range c.k.Keys() {
		if !strings.HasPrefix(key, path+".") {
			continue
		}
		var value float64
		switch v := c.k.Get(key).(type) {
		case int:
			value = float64(v)
		case int64:
			value = float64(v)
		case float64:
			value = v
		case string:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			value = f
		default:
			continue
		}
		if value < 0 {
			return fmt.Errorf("%s must be 0 or more, got %v", key, c.k.Get(key))
		}
	}
	return nil
}

// String returns the value at key as a string.
func (c *Config) String(key string) string { return c.k.String(key) }

// Set overrides one key, for tests and flags.
func (c *Config) Set(key string, value any) error { return c.k.Set(key, value) }

// Keys returns every key that has a value, sorted.
func (c *Config) Keys() []string { return c.k.Keys() }

// Package configs loads Presso's configuration with koanf: the defaults of
// presso.yaml, embedded in the binary so that the documented defaults and
// the real ones cannot drift apart, then a YAML file, environment variables
// and flags.
package configs

import (
	_ "embed"
	"fmt"
	"os"
	"strings"

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
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("configuration file: %w", err)
		}
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("read configuration file %s: %w", path, err)
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
		if err := k.Load(confmap.Provider(overrides, "."), nil); err != nil {
			return nil, fmt.Errorf("apply flags: %w", err)
		}
	}
	if k.String("server.public_url") == "" {
		if err := k.Set("server.public_url", "http://"+k.String("server.addr")); err != nil {
			return nil, err
		}
	}
	return &Config{k: k}, nil
}

// Unmarshal decodes the keys below path into out. Strings such as "30s"
// become time.Duration values, and a comma-separated string from an
// environment variable becomes a list.
func (c *Config) Unmarshal(path string, out any) error {
	err := c.k.UnmarshalWithConf(path, out, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
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
		return fmt.Errorf("configuration %s: %w", path, err)
	}
	return nil
}

// String returns the value at key as a string.
func (c *Config) String(key string) string { return c.k.String(key) }

// Set overrides one key, for tests and flags.
func (c *Config) Set(key string, value any) error { return c.k.Set(key, value) }

// Keys returns every key that has a value, sorted.
func (c *Config) Keys() []string { return c.k.Keys() }

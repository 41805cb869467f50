package selector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/s3"
)

// credentialFields are the s3.Config settings whose values must not appear
// in an error message.
var credentialFields = []string{"access_key_id", "secret_access_key", "session_token"}

// PerKeyFromConfig builds an S3 storage for every API key that sets
// storage, the bucket that receives all of that key's documents. Each
// storage checks its bucket at start-up like storage.s3 does. Errors name
// the setting as auth.keys[<index>].storage.<field>. On error, the
// storages built so far are closed.
func PerKeyFromConfig(ctx context.Context, keys []engine.APIKey, logger *slog.Logger) (map[string]engine.Storage, error) {
	if logger == nil {
		logger = slog.Default()
	}
	built := map[string]engine.Storage{}
	closeBuilt := func() {
		for _, storage := range built {
			storage.Close()
		}
	}

	for i, key := range keys {
		if len(key.Storage) == 0 {
			continue
		}
		path := fmt.Sprintf("auth.keys[%d].storage", i)
		cfg, err := decodeS3Config(key.Storage, path)
		if err != nil {
			closeBuilt()
			return nil, err
		}
		storage, err := s3.NewWithConfig(ctx, cfg, logger.With("key", key.Name))
		if err != nil {
			closeBuilt()
			return nil, fmt.Errorf("bucket of API key %q: %w", key.Name, err)
		}
		built[key.Name] = storage
	}
	return built, nil
}

// decodeS3Config decodes one key's storage map as koanf decodes
// storage.s3: durations from strings such as "12h", and numbers or
// booleans from strings, as environment variables provide them.
func decodeS3Config(raw map[string]any, path string) (s3.Config, error) {
	known := settingNames()
	var unknown []string
	for name := range raw {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return s3.Config{}, fmt.Errorf("%s.%s is not a setting of a key's bucket: use %s", path, unknown[0], strings.Join(known, ", "))
	}

	cfg := s3.Config{ConfigPath: path}
	decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName:          "koanf",
		DecodeHook:       mapstructure.StringToTimeDurationHookFunc(),
		WeaklyTypedInput: true,
		Result:           &cfg,
	})
	if err != nil {
		return s3.Config{}, err
	}
	if err := decoder.Decode(raw); err != nil {
		return s3.Config{}, decodeError(path, raw, err)
	}
	return cfg, nil
}

// decodeError names the setting that failed to decode and quotes its value,
// except for credentials.
func decodeError(path string, raw map[string]any, err error) error {
	var fieldErr *mapstructure.DecodeError
	if !errors.As(err, &fieldErr) {
		return fmt.Errorf("%s is invalid: %w", path, err)
	}
	name := fieldErr.Name()
	if slices.Contains(credentialFields, name) {
		return fmt.Errorf("%s.%s is invalid: it must be a string", path, name)
	}
	return fmt.Errorf("%s.%s %q is invalid: %v", path, name, fmt.Sprint(raw[name]), fieldErr.Unwrap())
}

// settingNames returns the koanf names of s3.Config's settings, in field
// order.
func settingNames() []string {
	var names []string
	fields := reflect.TypeFor[s3.Config]()
	for i := range fields.NumField() {
		if tag := fields.Field(i).Tag.Get("koanf"); tag != "" && tag != "-" {
			names = append(names, tag)
		}
	}
	return names
}

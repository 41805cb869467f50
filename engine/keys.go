package engine

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// AnonymousKey is the key name of requests made while authentication is
// off, that is, while no key is configured.
const AnonymousKey = "anonymous"

// APIKey is one entry of auth.keys.
type APIKey struct {
	// Name identifies the key in logs, job state and storage paths; it is
	// not secret.
	Name string `koanf:"name"`
	// Key is the bearer token in clear text. Exclusive with KeySHA256.
	Key string `koanf:"key"`
	// KeySHA256 is the lowercase hex SHA-256 of the bearer token, so that
	// the configuration need not contain the token itself.
	KeySHA256 string `koanf:"key_sha256"`
	// SigningSecret signs the webhooks of this key's jobs: whsec_ followed
	// by base64 bytes.
	SigningSecret string `koanf:"signing_secret"`
	// SigningSecrets lists further active secrets while one is rotated;
	// every webhook carries one Standard Webhooks signature per secret.
	SigningSecrets []string `koanf:"signing_secrets"`
	// Storage, when set, is a bucket of this key's own that receives every
	// document of the key; it has the fields of storage.s3.
	Storage map[string]any `koanf:"storage"`
}

type keyEntry struct {
	name    string
	hash    [sha256.Size]byte
	secrets []string
}

// Keyring authenticates bearer tokens and holds each key's signing secrets.
type Keyring struct {
	keys []keyEntry
	// anonymousSecret signs webhooks while authentication is off.
	anonymousSecret string
}

// NewKeyring checks the configured keys. With no keys, authentication is
// off and anonymousSecret signs every webhook.
func NewKeyring(keys []APIKey, anonymousSecret string) (*Keyring, error) {
	ring := &Keyring{anonymousSecret: anonymousSecret}
	seen := map[string]bool{}
	for i, k := range keys {
		where := fmt.Sprintf("auth.keys[%d]", i)
		if k.Name == "" {
			return nil, fmt.Errorf("%s.name is missing: give every key a name", where)
		}
		if seen[k.Name] {
			return nil, fmt.Errorf("%s.name %q is used twice: key names must be unique", where, k.Name)
		}
		seen[k.Name] = true

		entry := keyEntry{name: k.Name}
		switch {
		case k.Key != "" && k.KeySHA256 != "":
			return nil, fmt.Errorf("%s (%s) sets both key and key_sha256: keep one", where, k.Name)
		case k.Key != "":
			entry.hash = sha256.Sum256([]byte(k.Key))
		case k.KeySHA256 != "":
			raw, err := hex.DecodeString(strings.TrimSpace(k.KeySHA256))
			if err != nil || len(raw) != sha256.Size {
				return nil, fmt.Errorf("%s.key_sha256 (%s) must be 64 hex digits, as printed by `printf %%s KEY | sha256sum`", where, k.Name)
			}
			copy(entry.hash[:], raw)
		default:
			return nil, fmt.Errorf("%s (%s) needs key or key_sha256", where, k.Name)
		}

		for _, secret := range append([]string{k.SigningSecret}, k.SigningSecrets...) {
			if secret == "" {
				continue
			}
			if _, err := DecodeSigningSecret(secret); err != nil {
				return nil, fmt.Errorf("%s.signing_secret (%s): %w", where, k.Name, err)
			}
			entry.secrets = append(entry.secrets, secret)
		}
		if len(entry.secrets) == 0 {
			return nil, fmt.Errorf("%s.signing_secret (%s) is missing: generate one with `presso secret`", where, k.Name)
		}
		ring.keys = append(ring.keys, entry)
	}
	if len(ring.keys) == 0 {
		if _, err := DecodeSigningSecret(anonymousSecret); err != nil {
			return nil, fmt.Errorf("signing secret for unauthenticated use: %w", err)
		}
	}
	return ring, nil
}

// Enabled reports whether requests must carry a key.
func (r *Keyring) Enabled() bool { return len(r.keys) > 0 }

// Authenticate returns the name of the key whose token is token. It hashes
// the token and compares it with every key in constant time, so that the
// time taken reveals neither which key matched nor how much of it.
func (r *Keyring) Authenticate(token string) (string, bool) {
	if !r.Enabled() {
		return AnonymousKey, true
	}
	hash := sha256.Sum256([]byte(token))
	name, found := "", 0
	for _, k := range r.keys {
		if subtle.ConstantTimeCompare(hash[:], k.hash[:]) == 1 {
			name, found = k.name, 1
		}
	}
	return name, found == 1 && token != ""
}

// Secrets returns the active signing secrets of the named key, the first
// being the one used for the x-doppio-payload-signature header.
func (r *Keyring) Secrets(name string) []string {
	if !r.Enabled() {
		return []string{r.anonymousSecret}
	}
	for _, k := range r.keys {
		if k.name == name {
			return k.secrets
		}
	}
	return nil
}

// SigningSecretPrefix starts every signing secret, as in Standard Webhooks.
const SigningSecretPrefix = "whsec_"

// DecodeSigningSecret returns the key bytes of a "whsec_<base64>" secret.
func DecodeSigningSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SigningSecretPrefix)
	if !ok {
		return nil, fmt.Errorf("signing secret must start with %q followed by base64; generate one with `presso secret`", SigningSecretPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(raw) < 16 {
		return nil, fmt.Errorf("signing secret must be %q followed by the base64 of at least 16 bytes; generate one with `presso secret`", SigningSecretPrefix)
	}
	return raw, nil
}

// NewSigningSecret returns a fresh random secret of 32 bytes.
func NewSigningSecret() string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(raw)
}

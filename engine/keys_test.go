package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestKeyringAuthenticates(t *testing.T) {
	secret := NewSigningSecret()
	hash := sha256.Sum256([]byte("hashed-token"))
	ring, err := NewKeyring([]APIKey{
		{Name: "billing", Key: "clear-token", SigningSecret: secret},
		{Name: "reports", KeySHA256: hex.EncodeToString(hash[:]), SigningSecret: secret},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{"clear-token": "billing", "hashed-token": "reports", "wrong": "", "": ""}
	for token, want := range cases {
		name, ok := ring.Authenticate(token)
		if ok != (want != "") || name != want {
			t.Errorf("Authenticate(%q) = %q, %v; want %q", token, name, ok, want)
		}
	}
}

func TestKeyringRejectsBadConfiguration(t *testing.T) {
	secret := NewSigningSecret()
	cases := []struct {
		name string
		keys []APIKey
		want string
	}{
		{"no name", []APIKey{{Key: "k", SigningSecret: secret}}, "name is missing"},
		{"duplicate name", []APIKey{{Name: "a", Key: "k1", SigningSecret: secret}, {Name: "a", Key: "k2", SigningSecret: secret}}, "used twice"},
		{"no key", []APIKey{{Name: "a", SigningSecret: secret}}, "needs key or key_sha256"},
		{"both keys", []APIKey{{Name: "a", Key: "k", KeySHA256: strings.Repeat("0", 64), SigningSecret: secret}}, "both"},
		{"bad hash", []APIKey{{Name: "a", KeySHA256: "xyz", SigningSecret: secret}}, "64 hex digits"},
		{"no secret", []APIKey{{Name: "a", Key: "k"}}, "signing_secret"},
		{"secret without prefix", []APIKey{{Name: "a", Key: "k", SigningSecret: "plain"}}, "whsec_"},
	}
	for _, tc := range cases {
		_, err := NewKeyring(tc.keys, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestKeyringWithoutKeysIsAnonymous(t *testing.T) {
	secret := NewSigningSecret()
	ring, err := NewKeyring(nil, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Enabled() {
		t.Fatal("a keyring without keys must not require authentication")
	}
	if name, ok := ring.Authenticate(""); !ok || name != AnonymousKey {
		t.Errorf("Authenticate = %q, %v", name, ok)
	}
	if got := ring.Secrets(AnonymousKey); len(got) != 1 || got[0] != secret {
		t.Errorf("Secrets = %v", got)
	}
}

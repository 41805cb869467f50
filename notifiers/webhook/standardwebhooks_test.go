package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/notifiers/webhook"
)

// standardWebhooksVersion is the version of the npm package standardwebhooks
// that checks Presso's signatures, an implementation independent of Presso.
const standardWebhooksVersion = "1.1.1"

var (
	libraryFirstSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte("first secret for the npm check"))
	librarySecondSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("second secret for the npm check"))
	libraryOtherSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte("secret of no key, for the npm check"))
)

// TestStandardWebhooksLibraryVerifiesCalls sends calls with the notifier
// and checks them with the standardwebhooks npm package under Node.js. The
// package is taken from the node_modules folder named by
// PRESSO_TEST_NODE_MODULES or, when that is unset, from bin/node/node_modules
// at the repository root, where the test installs it with npm when missing.
// Without node or npm the test is skipped, unless CI is set.
func TestStandardWebhooksLibraryVerifiesCalls(t *testing.T) {
	node, nodeModules := standardWebhooksPackage(t)
	post := sendCall(t, "POST", []string{libraryFirstSecret})
	get := sendCall(t, "GET", []string{libraryFirstSecret})
	rotated := sendCall(t, "POST", []string{libraryFirstSecret, librarySecondSecret})

	tamperedBody := bytes.Replace(post.body, []byte(`"SUCCESS"`), []byte(`"ERROR"`), 1)
	if bytes.Equal(tamperedBody, post.body) {
		t.Fatalf("body %s has no renderStatus SUCCESS to alter", post.body)
	}

	tests := []struct {
		name     string
		secret   string
		header   http.Header
		payload  []byte
		verified bool
	}{
		{"genuine POST", libraryFirstSecret, post.header, post.body, true},
		{"genuine GET over the request id", libraryFirstSecret, get.header, []byte(get.header.Get("x-doppio-request-id")), true},
		{"rotation, second secret", librarySecondSecret, rotated.header, rotated.body, true},
		{"timestamp 1 minute old", libraryFirstSecret, resignAt(t, post, libraryFirstSecret, -time.Minute), post.body, true},
		{"tampered body", libraryFirstSecret, post.header, tamperedBody, false},
		{"wrong secret", libraryOtherSecret, post.header, post.body, false},
		{"timestamp 10 minutes old", libraryFirstSecret, resignAt(t, post, libraryFirstSecret, -10*time.Minute), post.body, false},
		{"timestamp 10 minutes ahead", libraryFirstSecret, resignAt(t, post, libraryFirstSecret, 10*time.Minute), post.body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verified, output := runStandardWebhooks(t, node, nodeModules, tt.secret, tt.header, tt.payload)
			t.Logf("node printed: %s", strings.TrimSpace(output))

			if verified != tt.verified {
				t.Errorf("standardwebhooks verified = %t, want %t; node printed:\n%s", verified, tt.verified, output)
			}
		})
	}
}

// receivedCall is one call as the loopback receiver got it.
type receivedCall struct {
	header http.Header
	body   []byte
}

// sendCall makes one call with the notifier, signing with secrets, to a
// loopback receiver, and returns what the receiver got.
func sendCall(t *testing.T, method string, secrets []string) receivedCall {
	t.Helper()
	var (
		mu    sync.Mutex
		calls []receivedCall
	)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, receivedCall{r.Header.Clone(), body})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer server.Close()

	keys, err := engine.NewKeyring([]engine.APIKey{{
		Name: "acme", Key: "acme-token", SigningSecret: secrets[0], SigningSecrets: secrets[1:],
	}}, "")
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	notifier, err := webhook.NewWithConfig(webhook.Config{Timeout: 5 * time.Second}, keys, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	defer notifier.Close()

	requestID := "doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d"
	attempt := notifier.Deliver(context.Background(), &engine.Delivery{
		JobID:     "5f1c8d2e-7a41-4c3b-9e0f-2b6d8a9c1e47",
		RequestID: requestID,
		Key:       "acme",
		Webhook:   engine.Webhook{URL: server.URL + "/hook", Method: method},
		Payload: engine.Payload{
			DoppioRequestID: requestID,
			RenderStatus:    engine.StatusSuccess,
			DocumentURL:     "http://127.0.0.1:8080/v1/documents/" + requestID + "-1764877200000.pdf",
			IsAsync:         true,
		},
		Attempt: 1,
	})
	if !attempt.Succeeded() {
		t.Fatalf("%s call failed: %+v", method, attempt)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("receiver got %d calls, want 1", len(calls))
	}
	return calls[0]
}

// resignAt returns the headers of call with webhook-timestamp moved by
// offset from now and webhook-signature computed for that time with secret.
func resignAt(t *testing.T, call receivedCall, secret string, offset time.Duration) http.Header {
	t.Helper()
	sentAt := time.Now().Add(offset).Unix()
	signature, err := webhook.SignStandard(secret, call.header.Get("webhook-id"), sentAt, call.body)
	if err != nil {
		t.Fatalf("SignStandard: %v", err)
	}
	header := call.header.Clone()
	header.Set("webhook-timestamp", strconv.FormatInt(sentAt, 10))
	header.Set("webhook-signature", signature)
	return header
}

// runStandardWebhooks checks one call with testdata/verify-standardwebhooks.mjs
// and reports whether the library accepted it, with what node printed. It
// fails the test when the script breaks for any other reason than a
// rejected call, so that a broken set-up cannot pass as a rejection.
func runStandardWebhooks(t *testing.T, node, nodeModules, secret string, header http.Header, payload []byte) (bool, string) {
	t.Helper()
	dir := t.TempDir()
	lowerCase := map[string]string{}
	for name := range header {
		lowerCase[strings.ToLower(name)] = header.Get(name)
	}
	headersJSON, err := json.Marshal(lowerCase)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"secret": []byte(secret), "headers.json": headersJSON, "payload": payload}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	script, err := filepath.Abs(filepath.Join("testdata", "verify-standardwebhooks.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, script, nodeModules,
		filepath.Join(dir, "secret"), filepath.Join(dir, "headers.json"), filepath.Join(dir, "payload"))
	output, err := cmd.CombinedOutput()

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return true, string(output)
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return false, string(output)
	default:
		t.Fatalf("node %s failed: %v\n%s", script, err, output)
		return false, ""
	}
}

// standardWebhooksPackage returns the node executable and the node_modules
// folder that holds standardwebhooks, installing the package with npm into
// bin/node at the repository root when PRESSO_TEST_NODE_MODULES is unset and
// the package is missing there.
func standardWebhooksPackage(t *testing.T) (node, nodeModules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipUnlessCI(t, "node is not installed: the check with the standardwebhooks npm package needs Node.js")
	}

	if dir := os.Getenv("PRESSO_TEST_NODE_MODULES"); dir != "" {
		if version := installedVersion(dir); version != standardWebhooksVersion {
			t.Fatalf("PRESSO_TEST_NODE_MODULES=%s does not hold standardwebhooks %s (version found: %q): run npm install --prefix %s standardwebhooks@%s",
				dir, standardWebhooksVersion, version, filepath.Dir(dir), standardWebhooksVersion)
		}
		return node, dir
	}

	prefix := filepath.Join(repositoryRoot(t), "bin", "node")
	nodeModules = filepath.Join(prefix, "node_modules")
	if installedVersion(nodeModules) == standardWebhooksVersion {
		return node, nodeModules
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		skipUnlessCI(t, "npm is not installed: it installs the standardwebhooks package for this test")
	}
	args := []string{"install", "--prefix", prefix, "standardwebhooks@" + standardWebhooksVersion, "--no-audit", "--no-fund"}
	t.Logf("installing the npm package: npm %s", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if output, err := exec.CommandContext(ctx, npm, args...).CombinedOutput(); err != nil {
		t.Fatalf("npm %s failed: %v\n%s", strings.Join(args, " "), err, output)
	}
	if version := installedVersion(nodeModules); version != standardWebhooksVersion {
		t.Fatalf("after npm install, %s has standardwebhooks version %q, want %s", nodeModules, version, standardWebhooksVersion)
	}
	return node, nodeModules
}

// installedVersion returns the version of standardwebhooks in nodeModules,
// or "" when it is not there.
func installedVersion(nodeModules string) string {
	data, err := os.ReadFile(filepath.Join(nodeModules, "standardwebhooks", "package.json"))
	if err != nil {
		return ""
	}
	var manifest struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &manifest) != nil {
		return ""
	}
	return manifest.Version
}

// skipUnlessCI skips the test, or fails it when the environment variable CI
// is set, because CI machines must run every check.
func skipUnlessCI(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(reason + " (CI is set, so the test fails instead of being skipped)")
	}
	t.Skip(reason)
}

// repositoryRoot returns the closest folder above the working directory
// that contains go.mod.
func repositoryRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod found above the working directory")
		}
		dir = parent
	}
}

package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// verifyStandard checks a webhook-signature value the way a Standard
// Webhooks receiver does, without the package's helpers, and returns how
// many of its v1 entries match secret.
func verifyStandard(t *testing.T, header, secret, id, timestamp string, body []byte) int {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("test secret does not decode: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "." + string(body)))
	expected := mac.Sum(nil)

	matches := 0
	for _, entry := range strings.Fields(header) {
		version, encoded, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			t.Errorf("signature entry %q is not of the form v1,<base64>", entry)
			continue
		}
		actual, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			t.Errorf("signature entry %q is not base64: %v", entry, err)
			continue
		}
		if hmac.Equal(actual, expected) {
			matches++
		}
	}
	return matches
}

func TestDeliverPostHeadersAndBody(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)
	d := testDelivery(recv.URL+"/hooks/presso?token=abc", "", map[string]string{"Authorization": "Bearer receiver-token"})
	before := time.Now().Unix()

	attempt := n.Deliver(context.Background(), d)

	if !attempt.Succeeded() {
		t.Fatalf("attempt = %+v, want success", attempt)
	}
	if attempt.StatusCode != http.StatusNoContent {
		t.Errorf("StatusCode = %d, want 204", attempt.StatusCode)
	}
	if attempt.At.IsZero() || attempt.Duration <= 0 {
		t.Errorf("At = %s, Duration = %s, want both set", attempt.At, attempt.Duration)
	}

	call := recv.onlyCall(t)
	wantBody, _ := json.Marshal(d.Payload)
	if call.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", call.Method)
	}
	if !bytes.Equal(call.Body, wantBody) {
		t.Errorf("body = %s, want %s", call.Body, wantBody)
	}
	if bytes.HasSuffix(call.Body, []byte("\n")) {
		t.Error("body ends with a newline, want compact JSON")
	}
	headerWants := map[string]string{
		"Content-Type":        "application/json",
		"User-Agent":          UserAgent,
		"X-Doppio-Request-Id": d.RequestID,
		"Webhook-Id":          d.JobID,
		"Authorization":       "Bearer receiver-token",
	}
	for name, want := range headerWants {
		if got := call.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := call.Header.Get("X-Doppio-Render-Status"); got != "" {
		t.Errorf("x-doppio-render-status = %q on a POST, want none", got)
	}
	timestamp, err := strconv.ParseInt(call.Header.Get("Webhook-Timestamp"), 10, 64)
	if err != nil || timestamp < before || timestamp > time.Now().Unix() {
		t.Errorf("webhook-timestamp = %q, want the unix time of the call", call.Header.Get("Webhook-Timestamp"))
	}
}

func TestDeliverDoppioSignature(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)

	n.Deliver(context.Background(), testDelivery(recv.URL, "POST", nil))

	call := recv.onlyCall(t)
	signature := call.Header.Get("X-Doppio-Payload-Signature")
	// An independent computation: HMAC-SHA256 keyed with the whole secret
	// string, lowercase hex.
	mac := hmac.New(sha256.New, []byte(firstSecret))
	mac.Write(call.Body)
	if want := hex.EncodeToString(mac.Sum(nil)); signature != want {
		t.Errorf("x-doppio-payload-signature = %q, want %q", signature, want)
	}
	if SignDoppio(otherSecret, call.Body) == signature {
		t.Error("signature also verifies with a secret of no key")
	}
	if SignDoppio(secondSecret, call.Body) == signature {
		t.Error("signature verifies with the second secret, want the first one only")
	}
}

func TestDeliverStandardSignatures(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)

	n.Deliver(context.Background(), testDelivery(recv.URL, "PUT", nil))

	call := recv.onlyCall(t)
	header := call.Header.Get("Webhook-Signature")
	id, timestamp := call.Header.Get("Webhook-Id"), call.Header.Get("Webhook-Timestamp")
	if entries := strings.Fields(header); len(entries) != 2 {
		t.Errorf("webhook-signature has %d entries, want one per secret (2): %q", len(entries), header)
	}
	if got := verifyStandard(t, header, firstSecret, id, timestamp, call.Body); got != 1 {
		t.Errorf("%d entries match the first secret, want 1", got)
	}
	if got := verifyStandard(t, header, secondSecret, id, timestamp, call.Body); got != 1 {
		t.Errorf("%d entries match the second secret, want 1", got)
	}
	if got := verifyStandard(t, header, otherSecret, id, timestamp, call.Body); got != 0 {
		t.Errorf("%d entries match a secret of no key, want 0", got)
	}
	if got := verifyStandard(t, header, firstSecret, id, timestamp, append(call.Body, ' ')); got != 0 {
		t.Errorf("%d entries match an altered body, want 0", got)
	}
}

func TestDeliverCallerCannotOverrideSignatures(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)
	forged := map[string]string{
		"x-doppio-payload-signature": "forged",
		"Webhook-Signature":          "v1,Zm9yZ2Vk",
		"WEBHOOK-ID":                 "forged",
		"webhook-timestamp":          "1",
		"X-Doppio-Request-Id":        "forged",
		"Content-Type":               "text/plain",
	}
	d := testDelivery(recv.URL, "POST", forged)

	n.Deliver(context.Background(), d)

	call := recv.onlyCall(t)
	for name := range forged {
		values := call.Header.Values(name)
		if len(values) != 1 {
			t.Errorf("%s has %d values %q, want exactly Presso's", name, len(values), values)
			continue
		}
		if strings.Contains(values[0], "forged") || values[0] == "1" || values[0] == "text/plain" {
			t.Errorf("%s = %q, the caller's value replaced Presso's", name, values[0])
		}
	}
	if got := call.Header.Get("X-Doppio-Payload-Signature"); got != SignDoppio(firstSecret, call.Body) {
		t.Errorf("x-doppio-payload-signature = %q, want Presso's signature", got)
	}
}

func TestDeliverBodylessMethodsSignRequestID(t *testing.T) {
	for _, tt := range []struct {
		method string
		status engine.RenderStatus
	}{
		{"GET", engine.StatusSuccess},
		{"DELETE", engine.StatusError},
	} {
		t.Run(tt.method, func(t *testing.T) {
			recv := newReceiver(t, nil)
			n := newTestNotifier(t, 5*time.Second, nil)
			d := testDelivery(recv.URL, tt.method, nil)
			d.Payload.RenderStatus = tt.status

			attempt := n.Deliver(context.Background(), d)

			if !attempt.Succeeded() {
				t.Fatalf("attempt = %+v, want success", attempt)
			}
			call := recv.onlyCall(t)
			if call.Method != tt.method {
				t.Errorf("method = %s, want %s", call.Method, tt.method)
			}
			if len(call.Body) != 0 {
				t.Errorf("body = %q, want none", call.Body)
			}
			if got := call.Header.Get("Content-Type"); got != "" {
				t.Errorf("Content-Type = %q, want none", got)
			}
			if got := call.Header.Get("X-Doppio-Render-Status"); got != string(tt.status) {
				t.Errorf("x-doppio-render-status = %q, want %s", got, tt.status)
			}
			if got, want := call.Header.Get("X-Doppio-Payload-Signature"), SignDoppio(firstSecret, []byte(d.RequestID)); got != want {
				t.Errorf("x-doppio-payload-signature = %q, want the signature of the request id %q", got, want)
			}
			header := call.Header.Get("Webhook-Signature")
			if got := verifyStandard(t, header, firstSecret, d.JobID, call.Header.Get("Webhook-Timestamp"), []byte(d.RequestID)); got != 1 {
				t.Errorf("%d webhook-signature entries match the request id, want 1", got)
			}
		})
	}
}

func TestDeliverLogsNoSecrets(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	var logs bytes.Buffer
	n := newTestNotifier(t, 5*time.Second, &logs)
	d := testDelivery(recv.URL+"/hook?token=query-secret", "POST", map[string]string{"Authorization": "Bearer header-secret"})

	n.Deliver(context.Background(), d)

	call := recv.onlyCall(t)
	output := logs.String()
	forbidden := []string{
		firstSecret,
		secondSecret,
		"header-secret",
		"query-secret",
		call.Header.Get("X-Doppio-Payload-Signature"),
		call.Header.Get("Webhook-Signature"),
		string(call.Body),
	}
	for _, value := range forbidden {
		if strings.Contains(output, value) {
			t.Errorf("log contains %q:\n%s", value, output)
		}
	}
	for _, id := range []string{d.JobID, d.RequestID} {
		if !strings.Contains(output, id) {
			t.Errorf("log does not contain id %s:\n%s", id, output)
		}
	}
}

func TestDeliverDrainsLargeResponse(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 4*maxResponseBody))
	})
	n := newTestNotifier(t, 5*time.Second, nil)

	attempt := n.Deliver(context.Background(), testDelivery(recv.URL, "POST", nil))

	if !attempt.Succeeded() {
		t.Errorf("attempt = %+v, want success", attempt)
	}
}

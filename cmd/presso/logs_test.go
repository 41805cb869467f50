package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log lines written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsCarryIDsAndNoSecrets(t *testing.T) {
	logs := &lockedBuffer{}
	svc := startServiceWithLog(t, nil, logs, slog.LevelDebug)
	hook := newReceiver(t)
	page := map[string]any{
		"setContent":          map[string]any{"html": b64("<p>confidential-document-text</p>")},
		"setCookies":          []any{map[string]any{"name": "session", "value": "cookie-secret-value", "domain": "example.com"}},
		"setExtraHTTPHeaders": map[string]string{"X-Api-Token": "header-secret-value"},
		"authenticate":        map[string]any{"username": "user", "password": "password-secret-value"},
	}
	status, answer, _ := svc.call(t, "/v1/render/pdf/async", map[string]any{
		"page": page,
		"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST",
			"headers": map[string]string{"Authorization": "Bearer receiver-secret-value"}}},
	})
	if status != http.StatusOK {
		t.Fatalf("async answered %d: %s", status, answer)
	}
	var ack struct{ RequestID, JobID string }
	json.Unmarshal(answer, &ack)
	call := hook.wait(t, 1)[0]
	if call.header.Get("Authorization") != "Bearer receiver-secret-value" {
		t.Errorf("the receiver did not get the caller's header")
	}
	svc.waitForState(t, ack.JobID, "delivered")
	_, record := svc.job(t, ack.JobID, testKey)
	recordJSON, _ := json.Marshal(record)

	text := logs.String()
	for _, secret := range []string{testKey, svc.secret, "cookie-secret-value", "header-secret-value", "password-secret-value", "receiver-secret-value", "confidential-document-text"} {
		if strings.Contains(text, secret) {
			t.Errorf("the logs contain %q", secret)
		}
		if strings.Contains(string(recordJSON), secret) {
			t.Errorf("the job state contains %q", secret)
		}
	}
	// The job state returns the signed document link on purpose; the logs
	// must not, since whoever reads them could fetch the document.
	if strings.Contains(text, "signature=") {
		t.Error("the logs contain a signed document link")
	}

	jobLines := 0
	scanner := bufio.NewScanner(strings.NewReader(text))
	for scanner.Scan() {
		var line map[string]any
		if json.Unmarshal(scanner.Bytes(), &line) != nil {
			continue
		}
		if line["jobId"] != ack.JobID {
			continue
		}
		jobLines++
		if line["requestId"] != ack.RequestID {
			t.Errorf("a log line about the job lacks its requestId: %s", scanner.Text())
		}
	}
	if jobLines < 4 {
		t.Errorf("only %d log lines carry the job id; want accepted, rendered, stored, delivered", jobLines)
	}
}

func TestLogDurationsReadable(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: readableDuration}))
	logger.Info("render finished", "duration", 1500*time.Millisecond, "bytes", 42)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["duration"] != "1.5s" || line["bytes"] != float64(42) {
		t.Errorf("log line %s: want duration \"1.5s\" and bytes 42", buf.String())
	}
}

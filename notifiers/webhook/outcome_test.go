package webhook

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDeliverServerErrorFails(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	n := newTestNotifier(t, 5*time.Second, nil)

	attempt := n.Deliver(context.Background(), testDelivery(recv.URL, "POST", nil))

	if attempt.StatusCode != http.StatusInternalServerError {
		t.Errorf("StatusCode = %d, want 500", attempt.StatusCode)
	}
	if attempt.Succeeded() {
		t.Error("Succeeded() = true for a 500")
	}
	if attempt.Error != "" {
		t.Errorf("Error = %q, want none for an HTTP status", attempt.Error)
	}
}

func TestDeliverRetryAfter(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		status   int
		value    string
		min, max time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "3", 3 * time.Second, 3 * time.Second},
		{"503 date", http.StatusServiceUnavailable, date, 85 * time.Second, 90 * time.Second},
		{"429 malformed", http.StatusTooManyRequests, "soon", 0, 0},
		{"500 ignored", http.StatusInternalServerError, "3", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tt.value)
				w.WriteHeader(tt.status)
			})
			n := newTestNotifier(t, 5*time.Second, nil)

			attempt := n.Deliver(context.Background(), testDelivery(recv.URL, "POST", nil))

			if attempt.StatusCode != tt.status {
				t.Errorf("StatusCode = %d, want %d", attempt.StatusCode, tt.status)
			}
			if attempt.RetryAfter < tt.min || attempt.RetryAfter > tt.max {
				t.Errorf("RetryAfter = %s, want between %s and %s", attempt.RetryAfter, tt.min, tt.max)
			}
		})
	}
}

func TestDeliverSlowReceiverTimesOut(t *testing.T) {
	recv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	n := newTestNotifier(t, 100*time.Millisecond, nil)

	attempt := n.Deliver(context.Background(), testDelivery(recv.URL, "POST", nil))

	if attempt.Error != "timed out after 100ms" {
		t.Errorf("Error = %q, want %q", attempt.Error, "timed out after 100ms")
	}
	if attempt.StatusCode != 0 {
		t.Errorf("StatusCode = %d, want 0", attempt.StatusCode)
	}
	if attempt.Duration > 2*time.Second {
		t.Errorf("Duration = %s, want about the 100ms timeout", attempt.Duration)
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	n := newTestNotifier(t, 5*time.Second, nil)

	attempt := n.Deliver(context.Background(), testDelivery("http://"+addr+"/hook?token=secret-query", "POST", nil))

	if attempt.Error == "" {
		t.Fatal("Error is empty for a refused connection")
	}
	if attempt.Succeeded() {
		t.Error("Succeeded() = true for a refused connection")
	}
	if strings.Contains(attempt.Error, "secret-query") {
		t.Errorf("Error %q contains the webhook URL's query", attempt.Error)
	}
}

func TestDeliverDoesNotFollowRedirect(t *testing.T) {
	target := newReceiver(t, nil)
	bouncer := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	n := newTestNotifier(t, 5*time.Second, nil)

	attempt := n.Deliver(context.Background(), testDelivery(bouncer.URL, "POST", nil))

	if attempt.StatusCode != http.StatusFound {
		t.Errorf("StatusCode = %d, want 302", attempt.StatusCode)
	}
	if attempt.Succeeded() {
		t.Error("Succeeded() = true for a redirect")
	}
	if calls := target.Calls(); len(calls) != 0 {
		t.Errorf("redirect target got %d calls, want 0", len(calls))
	}
}

func TestDeliverCanceledContext(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	attempt := n.Deliver(ctx, testDelivery(recv.URL, "POST", nil))

	if !strings.Contains(attempt.Error, "canceled") {
		t.Errorf("Error = %q, want it to mention the cancellation", attempt.Error)
	}
}

func TestDeliverUnknownKeyNotSent(t *testing.T) {
	recv := newReceiver(t, nil)
	n := newTestNotifier(t, 5*time.Second, nil)
	d := testDelivery(recv.URL, "POST", nil)
	d.Key = "removed-key"

	attempt := n.Deliver(context.Background(), d)

	if !strings.Contains(attempt.Error, "no signing secret") {
		t.Errorf("Error = %q, want it to name the missing secret", attempt.Error)
	}
	if calls := recv.Calls(); len(calls) != 0 {
		t.Errorf("receiver got %d unsigned calls, want 0", len(calls))
	}
}

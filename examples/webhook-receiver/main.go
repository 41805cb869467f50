// Command webhook-receiver receives Presso's webhook calls, verifies their
// signatures with the package notifiers/webhook/verify and logs the payload
// of each genuine call:
//
//	PRESSO_SIGNING_SECRET='whsec_…' go run ./examples/webhook-receiver
//
// Then set doppio.webhook.url of an async render to http://127.0.0.1:9000/.
// A verified call gets 200. A call whose signature or timestamp is wrong
// gets 401, one with a body over 1 MiB gets 413, and the reason is logged.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/presso-dev/presso/notifiers/webhook/verify"
)

// payload is the part of the webhook body that this receiver logs.
type payload struct {
	DoppioRequestID string          `json:"doppioRequestId"`
	RenderStatus    string          `json:"renderStatus"`
	DocumentURL     string          `json:"documentUrl"`
	Error           json.RawMessage `json:"error,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on, host:port")
	secret := flag.String("secret", "", "signing secret of the API key, whsec_…; default: $PRESSO_SIGNING_SECRET")
	tolerance := flag.Duration("tolerance", 5*time.Minute, "largest accepted difference between webhook-timestamp and this machine's clock")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stdout, nil))
	if *secret == "" {
		*secret = os.Getenv("PRESSO_SIGNING_SECRET")
	}
	if err := verify.ValidateSecret(*secret); err != nil {
		logger.Error("signing secret missing or invalid: set --secret or PRESSO_SIGNING_SECRET to the whsec_… secret of the API key", "error", err)
		os.Exit(2)
	}
	secrets := []string{*secret}

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log := logger.With("method", r.Method, "remote", r.RemoteAddr, "jobId", r.Header.Get("webhook-id"))
		body, err := verify.VerifyRequest(r, secrets, *tolerance)
		if err != nil {
			status := http.StatusUnauthorized
			switch {
			case errors.Is(err, verify.ErrBodyTooLarge):
				status = http.StatusRequestEntityTooLarge
			case !errors.Is(err, verify.ErrMissingSignature) && !errors.Is(err, verify.ErrInvalidSignature) &&
				!errors.Is(err, verify.ErrTimestampOutOfRange):
				status = http.StatusBadRequest // the body could not be read
			}
			log.Warn("webhook call rejected", "status", status, "reason", err)
			http.Error(w, http.StatusText(status), status)
			return
		}

		var p payload
		if len(body) == 0 {
			// GET and DELETE calls carry the request id and the status in
			// headers, and the status header is not signed.
			p.DoppioRequestID = r.Header.Get("x-doppio-request-id")
			p.RenderStatus = r.Header.Get("x-doppio-render-status")
		} else if err := json.Unmarshal(body, &p); err != nil {
			log.Warn("webhook body is not the expected JSON", "error", err)
			http.Error(w, "body is not JSON", http.StatusBadRequest)
			return
		}
		log.Info("webhook call verified", "doppioRequestId", p.DoppioRequestID,
			"renderStatus", p.RenderStatus, "documentUrl", p.DocumentURL, "error", string(p.Error))
		w.WriteHeader(http.StatusOK)
	})

	server := &http.Server{Addr: *addr, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("webhook receiver listening", "addr", *addr, "tolerance", *tolerance)
	if err := server.ListenAndServe(); err != nil {
		logger.Error("webhook receiver stopped", "error", err)
		os.Exit(1)
	}
}

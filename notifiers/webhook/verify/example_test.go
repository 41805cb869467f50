package verify_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/presso-dev/presso/notifiers/webhook"
	"github.com/presso-dev/presso/notifiers/webhook/verify"
)

// Example wraps a webhook handler in Middleware, which rejects calls whose
// signatures do not match before the handler runs.
func Example() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the signing secret of your API key

	handler := verify.Middleware([]string{secret}, 5*time.Minute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload struct {
			DoppioRequestID string `json:"doppioRequestId"`
			RenderStatus    string `json:"renderStatus"`
		}
		if err := json.NewDecoder(r.Body).Decode(&payload); err != nil {
			http.Error(w, "payload is not JSON", http.StatusBadRequest)
			return
		}
		fmt.Println("accepted", payload.DoppioRequestID, payload.RenderStatus)
	}))

	body := `{"doppioRequestId":"doppioreq_0b9cd1de","renderStatus":"SUCCESS"}`
	genuine := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	genuine.Header = signatureHeaders(secret, body)
	fmt.Println(send(handler, genuine))

	altered := strings.Replace(body, "SUCCESS", "ERROR", 1)
	tampered := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(altered))
	tampered.Header = signatureHeaders(secret, body)
	fmt.Println(send(handler, tampered))
	// Output:
	// accepted doppioreq_0b9cd1de SUCCESS
	// 200
	// 401 webhook signature invalid: none of the 1 v1 entries of webhook-signature matches the secret and the body
}

// ExampleVerify checks a call without a body, as Presso sends with the
// webhook methods GET and DELETE: the signatures then cover the request id.
func ExampleVerify() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	header := signatureHeaders(secret, "doppioreq_0b9cd1de")
	header.Set("x-doppio-request-id", "doppioreq_0b9cd1de")
	header.Set("x-doppio-render-status", "SUCCESS")

	err := verify.Verify(secret, header, nil, 5*time.Minute)
	fmt.Println(err, header.Get("x-doppio-render-status"))
	// Output: <nil> SUCCESS
}

// signatureHeaders returns the signature headers of a call whose signed
// content is signed, computed with Presso's own signing functions.
func signatureHeaders(secret, signed string) http.Header {
	now := time.Now().Unix()
	standard, err := webhook.SignatureHeader([]string{secret}, "5f1c8d2e-7a41", now, []byte(signed))
	if err != nil {
		panic(err)
	}
	header := http.Header{}
	header.Set("x-doppio-payload-signature", webhook.SignDoppio(secret, []byte(signed)))
	header.Set("webhook-id", "5f1c8d2e-7a41")
	header.Set("webhook-timestamp", strconv.FormatInt(now, 10))
	header.Set("webhook-signature", standard)
	return header
}

// send passes req to handler and returns the response status and text.
func send(handler http.Handler, req *http.Request) string {
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, req)
	return strings.TrimSpace(strconv.Itoa(recorder.Code) + " " + recorder.Body.String())
}

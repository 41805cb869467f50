// Package verify checks the signatures of Presso's webhook calls on the
// receiving side. It imports only the standard library, so that a receiver
// does not pull in the rest of Presso.
//
// Presso signs each call in two ways, both with HMAC-SHA256 and the signing
// secret of the API key that made the render request, a string of the form
// "whsec_<base64>":
//
//   - x-doppio-payload-signature, the scheme of the Doppio API: the lowercase
//     hex HMAC of the body, keyed with the bytes of the whole secret string,
//     "whsec_" included. It has no timestamp, so a recorded call verifies
//     again when it is replayed.
//   - the Standard Webhooks headers webhook-id (the job id),
//     webhook-timestamp (unix seconds) and webhook-signature, which contains one
//     or more space-separated "v1,<base64 HMAC>" entries. Each HMAC covers
//     "<webhook-id>.<webhook-timestamp>.<body>" and is keyed with the
//     base64-decoded part of a secret after "whsec_". Checking the timestamp
//     against the receiver's clock rejects replays older than the tolerance.
//
// Calls made with GET or DELETE carry no body. Both schemes then sign the
// request id, which the call carries in x-doppio-request-id, and
// x-doppio-render-status carries the render status. That header is covered
// by no signature, so a receiver that must trust the status fetches the job
// from Presso (GET /v1/jobs/{jobId}). The document URL is not sent at all on
// these calls.
//
// Verify checks every scheme present in a call and requires each one to
// pass. When a call has none of the webhook-* headers, Verify checks only
// x-doppio-payload-signature and so cannot detect a replay. A call replayed
// with its webhook-* headers removed passes Verify in that way as well, so a
// receiver that only talks to Presso should call VerifyStandard as well, or
// in place of Verify, to require the Standard headers.
//
// While a key has several secrets (a rotation), Presso sends one
// webhook-signature entry per secret but keys x-doppio-payload-signature with
// the key's signing_secret only. Because Verify requires both schemes, a
// receiver that knows only the new secret rejects calls during the rotation.
// To rotate without rejected calls, add the new secret to the key's
// signing_secrets, give the receiver both secrets (VerifyRequest and
// Middleware accept a scheme when any of the given secrets verifies it),
// make the new secret the key's only signing_secret, and last remove the
// old secret from the receiver.
//
// VerifyRequest and Middleware read the body of an *http.Request, up to
// MaxBodyBytes, and verify it with several secrets.
package verify

// Package webhook delivers the results of async jobs to the caller's webhook.
//
// In the pipeline, the handler of the notify topic calls Deliver once per
// attempt. Deliver makes exactly one HTTP call and returns its outcome as an
// engine.Attempt, so the pipeline decides about retries and back-off and
// records every attempt in the job history.
//
// A call is signed twice. x-doppio-payload-signature is the Doppio API's
// scheme: the lowercase hex HMAC-SHA256 of the body, keyed with the bytes of
// the whole "whsec_…" secret string. The Standard Webhooks headers
// webhook-id, webhook-timestamp and webhook-signature add replay protection:
// each v1 signature is the base64 HMAC-SHA256 of "id.timestamp.body", keyed
// with the base64-decoded part of a secret, one per active secret while a
// secret is rotated. GET and DELETE calls have no body, so both schemes sign
// the request id instead and x-doppio-render-status carries the status.
//
// SignDoppio, SignStandard and SignatureHeader compute these values, so that
// receivers and tests verify calls with the same code that signs them.
package webhook

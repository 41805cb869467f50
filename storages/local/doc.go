// Package local stores rendered documents in a folder of the local file
// system and serves them itself through signed, expiring URLs.
//
// In the pipeline, a worker calls Store after rendering a sync or async job.
// Store writes the document to <dir>/<requestId>-<epoch ms>.<ext> and returns
// a documentUrl of the form
//
//	<server.public_url>/v1/documents/<name>?expires=<unix s>&signature=<hex>
//
// which the HTTP front serves with the handler that DocumentHandler returns,
// mounted at engine.DocumentPath. The signature is an HMAC-SHA256 over the
// name, the expiry and the content disposition, so a client can neither
// reach another document nor extend the URL's life nor switch an inline
// document to an attachment. Attachment URLs carry disposition=attachment.
//
// The handler returns 404 for a malformed name or a missing file, 403 for a
// missing or wrong signature or expires parameter, and 410 Gone for an
// authentic URL whose expiry has passed. 410 fits because the sweep deletes the document once its TTL
// has passed, so the document does not come back. Errors are RFC 9457 problem documents that
// also carry the statusCode, error and message fields of the Doppio API.
//
// Processes that share the folder, such as an API process and its workers,
// must sign URLs with the same key. When storage.local.url_secret is empty,
// the first process creates <dir>/.url-signing-key and the others read it.
// Every process runs a sweep that deletes documents whose modification time
// is older than the TTL, and temporary files left by interrupted writes.
package local

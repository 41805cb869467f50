// Package presigned uploads rendered documents to the caller's own bucket
// through the S3-compatible presigned PUT URL given in the request's
// doppio.presignedUrl.
//
// In the pipeline, the storage selector routes a sync or async job that
// carries a presigned URL here instead of to the configured storage. Store
// sends one PUT with the raw bytes, streamed from the document's file, and
// only the headers that such a URL is signed for: Content-Type
// application/octet-stream and Content-Length. It adds no x-amz-* header
// and no Content-Disposition, since S3 rejects a presigned request that
// carries a header the URL did not sign. The result has IsCustomBucket set
// and the presigned URL without its query string as documentUrl and key.
//
// A 2xx response ends the upload. A 3xx or 4xx, such as an expired or
// denied URL, fails the job after that one attempt with the store's reason:
// S3's XML Code and Message when present, else the status line. A 5xx, 408,
// 429, S3's RequestTimeout, a dropped connection or a timed-out attempt is
// retried with growing pauses while the job's context lasts. Redirects are
// not followed.
//
// The URL's query string contains the signature and the credential scope,
// so it appears in no log line and no error.
package presigned

// Package selector is the storage that the worker calls: it decides, for
// each rendered document, which storage keeps it.
//
// A sync or async job whose request carries doppio.presignedUrl goes to
// the presigned uploader, which sends it to the caller's own bucket. A job
// whose API key has a storage section in auth.keys goes to that key's S3
// bucket. Every other job goes to the default storage, the one named by
// storage.kind. Results of the first two routes have isCustomBucket true.
//
// PerKeyFromConfig builds the per-key buckets from auth.keys[].storage,
// which takes the same settings as storage.s3, each bucket checked at
// start-up. The selector serves documents through the default storage's
// handler when that storage serves its own (the local storage), and closes
// every storage it routes to when it is closed.
package selector

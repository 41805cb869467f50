// Package storagetest checks that an engine.Storage keeps the contract the
// pipeline relies on, and provides FakeS3, an in-process S3 server, for the
// tests of the S3-backed storages.
//
// After rendering a sync or async job, a worker hands the document to a
// Storage and sends the caller the documentUrl it returns. Run checks, for
// any implementation, that:
//
//   - the fetched bytes equal the stored ones;
//   - the content type and disposition survive, where the storage keeps them;
//   - a document larger than two S3 parts arrives whole;
//   - the body is read from its start;
//   - storing the same job twice yields the same key and URL path, as a
//     redelivered message needs;
//   - concurrent stores do not mix;
//   - the URL expires after the configured TTL, where it expires;
//   - a missing bucket is reported at start-up, where there is a bucket;
//   - a failing store returns a *engine.JobError with
//     engine.CodeStorageFailed that quotes the store's reason and no secret.
//
// A storage states what it cannot do through Target.Features and the
// optional Target fields, and the subtests that need them are skipped.
//
// The package imports the testing package and is meant for _test.go files
// only.
package storagetest

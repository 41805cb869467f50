// Package s3 stores rendered documents in an Amazon S3 bucket or an
// S3-compatible store (MinIO, Ceph, Cloudflare R2) and hands out URLs that
// the store serves, so Presso serves no documents itself.
//
// In the pipeline, a worker calls Store after rendering a sync or async job.
// Store uploads the document to
//
//	<prefix><requestId>-<epoch ms>.<ext>
//
// with the job's Content-Type and Content-Disposition as object metadata,
// and returns as documentUrl either a presigned GET URL valid for url_ttl
// or, with public_base_url set, <public_base_url>/<key>. The key depends
// only on the job, so a redelivered job overwrites its own object.
//
// A document of at most part_size bytes goes up in one PutObject, a larger
// one as a multipart upload whose parts are read straight from the
// document's file, one after another: memory use does not grow with the
// document. BenchmarkStoreLarge measures it. A failed multipart upload is
// aborted; a bucket lifecycle rule that removes incomplete multipart
// uploads catches those whose abort failed too.
//
// New checks the bucket with HeadBucket, which needs s3:ListBucket, and
// fails start-up with a message naming the bucket and the endpoint when
// the bucket does not exist, access is denied or the region is wrong.
// Store returns failures as engine.CodeStorageFailed job errors that quote
// S3's error code and message. They contain no credentials, because the
// SDK sends those only in headers, and not the endpoint's address.
//
// With an endpoint set, the SDK computes checksums only where S3 requires
// them, because some S3-compatible stores reject the CRC32 trailers that
// the SDK has sent by default since service/s3 v1.73.0.
package s3

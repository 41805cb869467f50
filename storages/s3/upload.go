package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/presso-dev/presso/engine"
)

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// abortTimeout bounds AbortMultipartUpload after a failed upload. It runs
// on a context detached from the job's, which may be what ended the upload.
const abortTimeout = 30 * time.Second

// upload sends body to key, in one PutObject when it fits in one part and
// as a multipart upload otherwise, and returns the number of parts. Each
// request reads its bytes straight from body through a section, so no part
// is copied into memory whatever its size.
func (s *Storage) upload(ctx context.Context, key string, job *engine.Job, body io.ReadSeeker, size int64, log *slog.Logger) (int, error) {
	shared := &sharedSeeker{rs: body}
	if size <= s.cfg.PartSize {
		_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket:               aws.String(s.cfg.Bucket),
			Key:                  aws.String(key),
			Body:                 shared.section(0, size),
			ContentLength:        aws.Int64(size),
			ContentType:          aws.String(job.ContentType()),
			ContentDisposition:   aws.String(job.ContentDisposition()),
			ServerSideEncryption: types.ServerSideEncryption(s.cfg.ServerSideEncryption),
			SSEKMSKeyId:          optional(s.cfg.SSEKMSKeyID),
		})
		return 1, err
	}
	return s.uploadMultipart(ctx, key, job, shared, size, log)
}

func (s *Storage) uploadMultipart(ctx context.Context, key string, job *engine.Job, body *sharedSeeker, size int64, log *slog.Logger) (int, error) {
	partSize := s.cfg.PartSize
	// A document too large for 10,000 parts of part_size gets larger parts,
	// which costs no memory because parts are streamed.
	if size > partSize*maxParts {
		partSize = (size + maxParts - 1) / maxParts
	}

	created, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:               aws.String(s.cfg.Bucket),
		Key:                  aws.String(key),
		ContentType:          aws.String(job.ContentType()),
		ContentDisposition:   aws.String(job.ContentDisposition()),
		ServerSideEncryption: types.ServerSideEncryption(s.cfg.ServerSideEncryption),
		SSEKMSKeyId:          optional(s.cfg.SSEKMSKeyID),
	})
	if err != nil {
		return 0, err
	}
	uploadID := created.UploadId

	// NOTE: parts go up one after another. Concurrent parts would be faster
	// for very large documents but need a body that supports ReadAt.
	var completed []types.CompletedPart
	for offset, number := int64(0), int32(1); offset < size; offset, number = offset+partSize, number+1 {
		length := min(partSize, size-offset)
		part, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket:        aws.String(s.cfg.Bucket),
			Key:           aws.String(key),
			UploadId:      uploadID,
			PartNumber:    aws.Int32(number),
			Body:          body.section(offset, length),
			ContentLength: aws.Int64(length),
		})
		if err != nil {
			s.abort(ctx, key, uploadID, log)
			return 0, fmt.Errorf("part %d: %w", number, err)
		}
		completed = append(completed, types.CompletedPart{
			PartNumber:     aws.Int32(number),
			ETag:           part.ETag,
			ChecksumCRC32:  part.ChecksumCRC32,
			ChecksumCRC32C: part.ChecksumCRC32C,
			ChecksumSHA1:   part.ChecksumSHA1,
			ChecksumSHA256: part.ChecksumSHA256,
		})
	}

	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.cfg.Bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		s.abort(ctx, key, uploadID, log)
		return 0, err
	}
	return len(completed), nil
}

// abort discards the parts of a failed multipart upload, which S3 would
// otherwise keep, and bill, until a lifecycle rule removes them.
func (s *Storage) abort(ctx context.Context, key string, uploadID *string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.cfg.Bucket),
		Key:      aws.String(key),
		UploadId: uploadID,
	})
	if err != nil {
		log.Warn("aborting the multipart upload failed; its parts stay until a lifecycle rule removes them",
			"uploadId", aws.ToString(uploadID), "error", err)
	}
}

func optional(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// sharedSeeker lets several sections read one io.ReadSeeker. Each Read
// seeks to the section's own position under a lock, because net/http may
// still be reading an abandoned attempt's body while the SDK's retry reads
// the next one.
type sharedSeeker struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

// section returns a reader of length bytes from offset that the SDK can
// seek, to measure, hash and rewind it between retries.
func (s *sharedSeeker) section(offset, length int64) *section {
	return &section{shared: s, base: offset, size: length}
}

type section struct {
	shared     *sharedSeeker
	base, size int64
	pos        int64
}

func (r *section) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.pos)]

	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	if _, err := r.shared.rs.Seek(r.base+r.pos, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := r.shared.rs.Read(p)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && r.pos < r.size {
		// The file is shorter than when Store measured it.
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *section) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("s3: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("s3: negative position")
	}
	r.pos = offset
	return offset, nil
}

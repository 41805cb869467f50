package selector

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/presigned"
)

var (
	_ engine.Storage        = (*Selector)(nil)
	_ engine.DocumentServer = (*Selector)(nil)
)

// Selector is the engine.Storage that the worker calls. It routes each
// document to the caller's presigned URL, to the bucket of the job's API
// key, or to the default storage.
type Selector struct {
	defaultStorage engine.Storage
	perKey         map[string]engine.Storage
	uploader       *presigned.Uploader

	closeOnce sync.Once
	closeErr  error
}

// New returns a selector. perKey maps API key names to their own storages
// and may be nil. uploader may be nil, and then a job that carries a
// presigned URL fails with engine.CodeStorageFailed rather than going
// elsewhere than the caller asked. The selector owns all the storages:
// Close closes them.
func New(defaultStorage engine.Storage, perKey map[string]engine.Storage, uploader *presigned.Uploader) *Selector {
	return &Selector{defaultStorage: defaultStorage, perKey: perKey, uploader: uploader}
}

// Store routes doc by the first rule that applies:
//
//  1. a sync or async job whose request has doppio.presignedUrl goes to the
//     presigned uploader (direct jobs return the bytes and store nothing);
//  2. a job whose API key has a bucket of its own goes there;
//  3. any other job goes to the default storage.
//
// Results of the first two have IsCustomBucket set.
func (s *Selector) Store(ctx context.Context, doc engine.Document) (engine.StoredDocument, error) {
	if doc.Job == nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "storage received a document without job")
	}
	storage, custom, err := s.route(doc.Job)
	if err != nil {
		return engine.StoredDocument{}, err
	}
	stored, err := storage.Store(ctx, doc)
	if err != nil {
		return stored, err
	}
	if custom {
		stored.IsCustomBucket = true
	}
	return stored, nil
}

// route returns the storage of job and whether it is a bucket of the
// caller's rather than Presso's default.
func (s *Selector) route(job *engine.Job) (engine.Storage, bool, error) {
	if job.Request.PresignedURL() != "" && job.Mode != engine.ModeDirect {
		if s.uploader == nil {
			return nil, false, engine.Errorf(engine.CodeStorageFailed, "doppio.presignedUrl is not supported by this server: uploads to presigned URLs are disabled")
		}
		return s.uploader, true, nil
	}
	if storage, ok := s.perKey[job.Key]; ok {
		return storage, true, nil
	}
	return s.defaultStorage, false, nil
}

// DocumentHandler returns the default storage's handler when it serves its
// documents itself, as the local storage does, and nil otherwise. Custom
// buckets and presigned URLs serve their own documents.
func (s *Selector) DocumentHandler() http.Handler {
	if server, ok := s.defaultStorage.(engine.DocumentServer); ok {
		return server.DocumentHandler()
	}
	return nil
}

// Close closes the default storage, every per-key storage and the
// uploader, and returns their errors joined. Later calls return the same
// result.
func (s *Selector) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.defaultStorage != nil {
			errs = append(errs, s.defaultStorage.Close())
		}
		for _, storage := range s.perKey {
			errs = append(errs, storage.Close())
		}
		if s.uploader != nil {
			errs = append(errs, s.uploader.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.Storages.Register("local", New)
}

var (
	_ engine.Storage        = (*Storage)(nil)
	_ engine.DocumentServer = (*Storage)(nil)
)

// tempPattern names the files that Store writes before renaming them. The
// leading dot keeps them out of documentNamePattern, and the sweep deletes
// those that an interrupted write left behind.
const tempPattern = ".upload-*.tmp"

// Storage keeps documents in a local folder and serves them itself.
type Storage struct {
	cfg Config
	// documentBase is the public URL followed by engine.DocumentPath.
	documentBase string
	signer       urlSigner
	logger       *slog.Logger
	// now is time.Now outside tests. It is set before the sweep starts and
	// never changed, so the sweep goroutine reads it without a lock.
	now func() time.Time

	stopSweep chan struct{}
	sweepDone chan struct{}
	closeOnce sync.Once
}

// New builds the storage from storage.local.* and server.public_url.
func New(deps engine.Deps) (engine.Storage, error) {
	var cfg Config
	var srv serverConfig
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("storage.local", &cfg); err != nil {
			return nil, fmt.Errorf("reading storage.local failed: %w", err)
		}
		if err := deps.Config.Unmarshal("server", &srv); err != nil {
			return nil, fmt.Errorf("reading server failed: %w", err)
		}
	}
	cfg.PublicURL = srv.PublicURL
	return NewWithConfig(cfg, deps.Logger)
}

// NewWithConfig creates cfg.Dir if needed, loads or creates the URL signing
// key and starts the sweep, which runs until Close. A nil logger means
// slog.Default().
func NewWithConfig(cfg Config, logger *slog.Logger) (*Storage, error) {
	return newStorage(cfg, logger, time.Now)
}

// newStorage is NewWithConfig with the clock that signs, checks and sweeps.
func newStorage(cfg Config, logger *slog.Logger, now func() time.Time) (*Storage, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("storage", "local")

	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage.local.dir: creating %s failed: %w", cfg.Dir, err)
	}
	secret := cfg.URLSecret
	if secret == "" {
		secret, err = loadOrCreateURLSecret(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("storage.local.url_secret is empty and the key file is unusable: %w", err)
		}
	}

	s := &Storage{
		cfg:          cfg,
		documentBase: strings.TrimRight(cfg.PublicURL, "/") + engine.DocumentPath,
		signer:       urlSigner{key: []byte(secret)},
		logger:       logger,
		now:          now,
		stopSweep:    make(chan struct{}),
		sweepDone:    make(chan struct{}),
	}
	go s.sweepLoop()
	logger.Info("local storage started", "dir", cfg.Dir, "ttl", cfg.TTL, "sweepInterval", cfg.SweepInterval)
	return s, nil
}

// Store writes the document to its file and returns a signed URL valid for
// the TTL. Storing the same job again replaces the file under the same key.
func (s *Storage) Store(ctx context.Context, doc engine.Document) (engine.StoredDocument, error) {
	if doc.Job == nil || doc.Body == nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "local storage received a document without job or body")
	}
	job := doc.Job
	name, err := documentName(job)
	if err != nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "local storage rejected the document: %v", err)
	}

	written, err := s.writeFile(ctx, name, doc)
	if err != nil {
		s.logger.Error("storing document failed", "jobId", job.ID, "requestId", job.RequestID, "key", name, "error", err)
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "local storage failed to write the document: %v", withoutPath(err))
	}

	expires := s.now().Add(s.cfg.TTL).Unix()
	stored := engine.StoredDocument{URL: s.documentURL(name, expires, jobDisposition(job)), Key: name}
	s.logger.Debug("document stored", "jobId", job.ID, "requestId", job.RequestID, "key", name, "bytes", written)
	return stored, nil
}

// writeFile streams doc.Body to a temporary file and renames it to name,
// so readers and the sweep see either no file or the complete document.
func (s *Storage) writeFile(ctx context.Context, name string, doc engine.Document) (int64, error) {
	if _, err := doc.Body.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("rewinding the document failed: %w", err)
	}
	tmp, err := os.CreateTemp(s.cfg.Dir, tempPattern)
	if err != nil {
		return 0, err
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	written, err := io.Copy(tmp, contextReader{ctx: ctx, r: doc.Body})
	if err != nil {
		return written, err
	}
	if doc.Size > 0 && written != doc.Size {
		return written, fmt.Errorf("document body has %d bytes, expected %d", written, doc.Size)
	}
	// Sync before rename, or a crash could leave a complete name over an
	// incomplete file.
	if err := tmp.Sync(); err != nil {
		return written, err
	}
	if err := tmp.Close(); err != nil {
		return written, err
	}
	if err := ctx.Err(); err != nil {
		return written, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.cfg.Dir, name)); err != nil {
		return written, err
	}
	renamed = true
	return written, nil
}

// documentURL returns the signed URL of a document.
func (s *Storage) documentURL(name string, expires int64, disposition string) string {
	query := url.Values{}
	query.Set("expires", strconv.FormatInt(expires, 10))
	if disposition == dispositionAttachment {
		query.Set("disposition", dispositionAttachment)
	}
	query.Set("signature", s.signer.sign(name, expires, disposition))
	return s.documentBase + name + "?" + query.Encode()
}

// Close stops the sweep and waits for a running sweep to finish. Documents
// stay on disk. Close may be called more than once.
func (s *Storage) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopSweep)
		<-s.sweepDone
		s.logger.Info("local storage stopped")
	})
	return nil
}

// contextReader stops a copy once ctx ends, so a canceled job does not keep
// writing a large document.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// withoutPath drops the file path from file system errors, because job
// errors reach API clients, who should not learn the server's folder
// layout. The caller logs the full error.
func withoutPath(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("%s: %w", pathErr.Op, pathErr.Err)
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return fmt.Errorf("%s: %w", linkErr.Op, linkErr.Err)
	}
	return err
}

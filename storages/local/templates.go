package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
)

func init() {
	templates.Stores.Register("local", NewTemplateStoreFromConfig)
}

var _ templates.Store = (*TemplateStore)(nil)

// DefaultTemplatesDir is the default of TemplatesConfig.Dir.
const DefaultTemplatesDir = "./data/templates"

// templateTempPattern names the files that the template store writes
// before renaming them. The leading dot keeps them out of List.
const templateTempPattern = ".template-*.tmp"

// TemplatesConfig configures the file template store: the keys under
// templates.
type TemplatesConfig struct {
	// Dir is the folder of templates, created with mode 0700 when missing.
	// Keep it out of storage.local.dir, whose sweep deletes old files.
	// Processes that share templates must share the folder.
	// Default: ./data/templates.
	Dir string `koanf:"dir"`
}

// TemplateStore keeps templates as JSON files, one per template, at
// <dir>/<key folder>/<id>.json (see templates.ObjectName). Each file is
// written to a temporary file first and then renamed, so neither a reader
// nor a crash finds half a template.
type TemplateStore struct {
	dir    string
	logger *slog.Logger
	// writeMu makes this process's check-then-write steps (Update of an
	// existing file, Delete) atomic with respect to each other.
	writeMu sync.Mutex
}

// NewTemplateStoreFromConfig builds the store from templates.dir.
func NewTemplateStoreFromConfig(deps engine.Deps) (templates.Store, error) {
	var cfg TemplatesConfig
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("templates", &cfg); err != nil {
			return nil, fmt.Errorf("reading templates failed: %w", err)
		}
	}
	return NewTemplateStore(cfg, deps.Logger)
}

// NewTemplateStore creates cfg.Dir if needed and removes temporary files
// that an interrupted write left there. A nil logger means slog.Default().
func NewTemplateStore(cfg TemplatesConfig, logger *slog.Logger) (*TemplateStore, error) {
	if cfg.Dir == "" {
		cfg.Dir = DefaultTemplatesDir
	}
	if logger == nil {
		logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("templates.dir: creating %s failed: %w", cfg.Dir, err)
	}
	s := &TemplateStore{dir: cfg.Dir, logger: logger.With("component", "templates", "store", "local")}
	s.removeStaleTemporaryFiles()
	s.logger.Info("template store started", "dir", cfg.Dir)
	return s, nil
}

// path returns the file of template id of key, or templates.ErrNotFound
// for an id that no template can have.
func (s *TemplateStore) path(key, id string) (string, error) {
	name, err := templates.ObjectName(key, id)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, filepath.FromSlash(name)), nil
}

// Create writes t's file, failing with templates.ErrExists if the file is
// there already, also when another process created it a moment earlier.
func (s *TemplateStore) Create(ctx context.Context, t *templates.Template) error {
	if err := t.CheckStorable(); err != nil {
		return err
	}
	path, err := s.path(t.Key, t.ID)
	if err != nil {
		return err
	}
	tmp, err := s.writeTemporary(ctx, t, filepath.Dir(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp)

	// A hard link publishes the complete file and fails if the name
	// exists, which a rename would silently replace.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return templates.ErrExists
		}
		return fmt.Errorf("template store: creating %s failed: %w", path, err)
	}
	return nil
}

// Get reads the template id of key.
func (s *TemplateStore) Get(_ context.Context, key, id string) (*templates.Template, error) {
	path, err := s.path(key, id)
	if err != nil {
		return nil, err
	}
	return s.read(path, key, id)
}

// read decodes the file at path and checks that it contains the template
// id of key, which its location promises.
func (s *TemplateStore) read(path, key, id string) (*templates.Template, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, templates.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("template store: reading %s failed: %w", path, err)
	}
	t, err := templates.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("template store: %s: %w", path, err)
	}
	if t.Key != key || t.ID != id {
		return nil, fmt.Errorf("template store: %s holds template %q of key %q, not %q of %q: the file was moved or edited", path, t.ID, t.Key, id, key)
	}
	return t, nil
}

// List reads every template file of key. A file that cannot be decoded is
// logged and left out, so one damaged file does not hide the others.
func (s *TemplateStore) List(_ context.Context, key string) ([]*templates.Template, error) {
	folder, err := templates.KeyFolder(key)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, folder)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []*templates.Template{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("template store: listing %s failed: %w", dir, err)
	}

	list := make([]*templates.Template, 0, len(entries))
	for _, entry := range entries {
		id, ok := strings.CutSuffix(entry.Name(), ".json")
		if !ok || !entry.Type().IsRegular() || !templates.ValidID(id) {
			continue
		}
		t, err := s.read(filepath.Join(dir, entry.Name()), key, id)
		switch {
		case errors.Is(err, templates.ErrNotFound):
			// Deleted since ReadDir.
			continue
		case err != nil:
			s.logger.Error("skipping a template file that cannot be read", "key", key, "templateId", id, "error", err)
			continue
		}
		list = append(list, t)
	}
	templates.Sort(list)
	return list, nil
}

// Update replaces the file of t, which must exist.
func (s *TemplateStore) Update(ctx context.Context, t *templates.Template) error {
	if err := t.CheckStorable(); err != nil {
		return err
	}
	path, err := s.path(t.Key, t.ID)
	if err != nil {
		return err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return templates.ErrNotFound
	}
	tmp, err := s.writeTemporary(ctx, t, filepath.Dir(path))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("template store: replacing %s failed: %w", path, err)
	}
	return nil
}

// Delete removes the file of template id of key.
func (s *TemplateStore) Delete(_ context.Context, key, id string) error {
	path, err := s.path(key, id)
	if err != nil {
		return err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return templates.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("template store: deleting %s failed: %w", path, err)
	}
	return nil
}

// Close does nothing. The files stay.
func (s *TemplateStore) Close() error { return nil }

// writeTemporary writes t to a new temporary file in dir, synced to disk,
// and returns its path.
func (s *TemplateStore) writeTemporary(ctx context.Context, t *templates.Template, dir string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	data, err := templates.Marshal(t)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("template store: creating %s failed: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, templateTempPattern)
	if err != nil {
		return "", fmt.Errorf("template store: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		// Sync before the rename or link, or a crash could leave the final
		// name on an empty file.
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("template store: writing %s failed: %w", tmp.Name(), err)
	}
	return tmp.Name(), nil
}

// removeStaleTemporaryFiles deletes the temporary files older than an
// hour in the key folders: those of writes that a crash interrupted.
// Younger ones may belong to another process's running write.
func (s *TemplateStore) removeStaleTemporaryFiles() {
	folders, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, folder := range folders {
		if !folder.IsDir() {
			continue
		}
		dir := filepath.Join(s.dir, folder.Name())
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, entry := range entries {
			if !strings.HasPrefix(entry.Name(), ".template-") || !strings.HasSuffix(entry.Name(), ".tmp") {
				continue
			}
			info, err := entry.Info()
			if err != nil || time.Since(info.ModTime()) < time.Hour {
				continue
			}
			path := filepath.Join(dir, entry.Name())
			if err := os.Remove(path); err == nil {
				s.logger.Info("removed a template file left by an interrupted write", "file", path)
			}
		}
	}
}

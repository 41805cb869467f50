package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
)

func init() {
	templates.Stores.Register("s3", NewTemplateStoreFromConfig)
}

var _ templates.Store = (*TemplateStore)(nil)

// TemplatesFolder follows storage.s3.prefix in the key of every template
// object: <prefix>templates/<key folder>/<id>.json. Document keys never
// contain a '/', so the two never meet.
const TemplatesFolder = "templates/"

// errDamagedTemplate marks an object that holds no template of its key
// and id: List leaves it out instead of failing.
var errDamagedTemplate = errors.New("damaged template object")

// listConcurrency bounds the GetObject calls that List runs at once.
const listConcurrency = 8

// TemplateStore keeps templates as JSON objects in the bucket of
// storage.s3, at <prefix>templates/<key folder>/<id>.json (see
// templates.ObjectName), with the bucket's encryption settings.
//
// S3 offers no transaction: Create, Update and Delete check that the
// object exists, then write. Calls of one process are serialized; two
// processes that change the same template at once may both succeed, and
// the later write wins.
type TemplateStore struct {
	storage *Storage
	root    string
	// writeMu makes this process's check-then-write steps atomic with
	// respect to each other.
	writeMu sync.Mutex
}

// NewTemplateStoreFromConfig builds the store from storage.s3.* and checks
// the bucket, giving up after 30 seconds.
func NewTemplateStoreFromConfig(deps engine.Deps) (templates.Store, error) {
	var cfg Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal(DefaultConfigPath, &cfg); err != nil {
			return nil, fmt.Errorf("reading %s failed: %w", DefaultConfigPath, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	return NewTemplateStore(ctx, cfg, deps.Logger)
}

// NewTemplateStore validates cfg and checks the bucket as NewWithConfig
// does. A nil logger means slog.Default().
func NewTemplateStore(ctx context.Context, cfg Config, logger *slog.Logger) (*TemplateStore, error) {
	if logger == nil {
		logger = slog.Default()
	}
	storage, err := NewWithConfig(ctx, cfg, logger.With("component", "templates"))
	if err != nil {
		return nil, err
	}
	s := &TemplateStore{storage: storage, root: storage.cfg.Prefix + TemplatesFolder}
	storage.logger.Info("template store started", "prefix", s.root)
	return s, nil
}

// objectKey returns the key of template id of key, or
// templates.ErrNotFound for an id that no template can have.
func (s *TemplateStore) objectKey(key, id string) (string, error) {
	name, err := templates.ObjectName(key, id)
	if err != nil {
		return "", err
	}
	return s.root + name, nil
}

// Create uploads t unless its object exists.
func (s *TemplateStore) Create(ctx context.Context, t *templates.Template) error {
	object, data, err := s.encode(t)
	if err != nil {
		return err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	exists, err := s.exists(ctx, object)
	if err != nil {
		return err
	}
	if exists {
		return templates.ErrExists
	}
	return s.put(ctx, object, data)
}

// Get downloads the template id of key.
func (s *TemplateStore) Get(ctx context.Context, key, id string) (*templates.Template, error) {
	object, err := s.objectKey(key, id)
	if err != nil {
		return nil, err
	}
	return s.read(ctx, object, key, id)
}

// read downloads and decodes an object and checks that it contains the
// template id of key, which its object key promises.
func (s *TemplateStore) read(ctx context.Context, object, key, id string) (*templates.Template, error) {
	out, err := s.storage.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.storage.cfg.Bucket), Key: aws.String(object)})
	if isNoSuchKey(err) {
		return nil, templates.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("s3 template store: getting %s failed: %s", object, storeReason(err))
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("s3 template store: reading %s failed: %s", object, storeReason(err))
	}
	t, err := templates.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("s3 template store: %s: %w: %w", object, errDamagedTemplate, err)
	}
	if t.Key != key || t.ID != id {
		return nil, fmt.Errorf("s3 template store: %w: %s holds template %q of key %q, not %q of %q: the object was copied or edited", errDamagedTemplate, object, t.ID, t.Key, id, key)
	}
	return t, nil
}

// List lists the objects under the key's folder and downloads them, a few
// at a time. An object that cannot be decoded is logged and left out.
func (s *TemplateStore) List(ctx context.Context, key string) ([]*templates.Template, error) {
	folder, err := templates.KeyFolder(key)
	if err != nil {
		return nil, err
	}
	prefix := s.root + folder + "/"
	ids, err := s.listIDs(ctx, prefix)
	if err != nil {
		return nil, err
	}

	results := make([]*templates.Template, len(ids))
	errs := make([]error, len(ids))
	slots := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			results[i], errs[i] = s.read(ctx, prefix+id+".json", key, id)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	list := make([]*templates.Template, 0, len(ids))
	for i, t := range results {
		switch {
		case errors.Is(errs[i], templates.ErrNotFound):
			// Deleted since the listing.
			continue
		case errors.Is(errs[i], errDamagedTemplate):
			s.storage.logger.Error("skipping a template object that cannot be read", "key", key, "templateId", ids[i], "error", errs[i])
			continue
		case errs[i] != nil:
			return nil, errs[i]
		}
		list = append(list, t)
	}
	templates.Sort(list)
	return list, nil
}

// listIDs returns the template ids of the objects directly under prefix.
func (s *TemplateStore) listIDs(ctx context.Context, prefix string) ([]string, error) {
	var ids []string
	pages := s3.NewListObjectsV2Paginator(s.storage.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.storage.cfg.Bucket),
		Prefix: aws.String(prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("s3 template store: listing %s failed: %s", prefix, storeReason(err))
		}
		for _, object := range page.Contents {
			id, ok := strings.CutSuffix(strings.TrimPrefix(aws.ToString(object.Key), prefix), ".json")
			if ok && templates.ValidID(id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// Update overwrites the object of t, which must exist.
func (s *TemplateStore) Update(ctx context.Context, t *templates.Template) error {
	object, data, err := s.encode(t)
	if err != nil {
		return err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	exists, err := s.exists(ctx, object)
	if err != nil {
		return err
	}
	if !exists {
		return templates.ErrNotFound
	}
	return s.put(ctx, object, data)
}

// Delete removes the object of template id of key.
func (s *TemplateStore) Delete(ctx context.Context, key, id string) error {
	object, err := s.objectKey(key, id)
	if err != nil {
		return err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	// S3 reports success for a delete of a missing object, so the check
	// comes first.
	exists, err := s.exists(ctx, object)
	if err != nil {
		return err
	}
	if !exists {
		return templates.ErrNotFound
	}
	_, err = s.storage.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.storage.cfg.Bucket), Key: aws.String(object)})
	if err != nil {
		return fmt.Errorf("s3 template store: deleting %s failed: %s", object, storeReason(err))
	}
	return nil
}

// Close releases nothing. The objects stay.
func (s *TemplateStore) Close() error { return nil }

func (s *TemplateStore) encode(t *templates.Template) (string, []byte, error) {
	if err := t.CheckStorable(); err != nil {
		return "", nil, err
	}
	object, err := s.objectKey(t.Key, t.ID)
	if err != nil {
		return "", nil, err
	}
	data, err := templates.Marshal(t)
	return object, data, err
}

func (s *TemplateStore) put(ctx context.Context, object string, data []byte) error {
	_, err := s.storage.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(s.storage.cfg.Bucket),
		Key:                  aws.String(object),
		Body:                 bytes.NewReader(data),
		ContentLength:        aws.Int64(int64(len(data))),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryption(s.storage.cfg.ServerSideEncryption),
		SSEKMSKeyId:          optional(s.storage.cfg.SSEKMSKeyID),
	})
	if err != nil {
		return fmt.Errorf("s3 template store: putting %s failed: %s", object, storeReason(err))
	}
	return nil
}

// exists reports whether object exists, with HeadObject.
func (s *TemplateStore) exists(ctx context.Context, object string) (bool, error) {
	_, err := s.storage.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.storage.cfg.Bucket), Key: aws.String(object)})
	if isNoSuchKey(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("s3 template store: checking %s failed: %s", object, storeReason(err))
	}
	return true, nil
}

// isNoSuchKey reports whether err means that the object does not exist:
// NoSuchKey from GetObject, or NotFound from HeadObject, whose 404 response
// has no body with a more precise code.
func isNoSuchKey(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	code := apiErr.ErrorCode()
	return code == "NoSuchKey" || code == "NotFound"
}

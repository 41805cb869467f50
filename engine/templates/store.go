package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/presso-dev/presso/engine"
)

var (
	// ErrNotFound is returned for a template that does not exist, or that
	// belongs to another key, so that ids of other keys cannot be probed.
	ErrNotFound = errors.New("template not found")
	// ErrExists is returned by Create for an id that the key already uses.
	ErrExists = errors.New("template id already exists")

	// errNoKey is returned for an empty key name, which no authenticated
	// request has.
	errNoKey = errors.New("templates: the API key name is empty")
)

// Store keeps templates, each owned by one API key.
//
// Every method is safe for concurrent use. The changes that one process
// makes to a template are applied one after another. Processes that share
// a folder or a bucket may interleave an Update with a Delete of the same
// template, and then the later write wins. A failing backend is reported as an error that is
// neither ErrNotFound nor ErrExists, for the caller to log and answer 503.
type Store interface {
	// Create stores t, which CheckStorable accepts, under t.Key. It returns
	// ErrExists when that key already has a template with t.ID.
	Create(ctx context.Context, t *Template) error
	// Get returns the template id of key, or ErrNotFound.
	Get(ctx context.Context, key, id string) (*Template, error)
	// List returns the templates of key in the order of Sort, and an empty
	// list when key has none.
	List(ctx context.Context, key string) ([]*Template, error)
	// Update replaces the stored template t.ID of t.Key with t, or returns
	// ErrNotFound when that key has no such template. It writes t as given:
	// the caller keeps CreatedAt and sets UpdatedAt (see Template.Replaced).
	Update(ctx context.Context, t *Template) error
	// Delete removes the template id of key, or returns ErrNotFound.
	Delete(ctx context.Context, key, id string) error
	// Close releases the store's resources and keeps the templates.
	Close() error
}

// Stores is the registry of Store implementations, by the names that
// templates.store accepts: memory here, local and s3 in the storage
// packages, which register when imported.
var Stores = engine.NewRegistry[Store]("template store")

func init() {
	Stores.Register("memory", func(engine.Deps) (Store, error) { return NewMemory(), nil })
}

// KeyFolder returns the folder name under which the file and S3 stores
// keep the templates of key: the key name with every byte other than an
// ASCII letter, digit, '-' or '_' written as %XX. Two names never share a
// folder, and a folder name is never empty, ".", ".." or contains '/'.
func KeyFolder(key string) (string, error) {
	if key == "" {
		return "", errNoKey
	}
	var b strings.Builder
	for i := range len(key) {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	if b.Len() > maxKeyFolderBytes {
		return "", fmt.Errorf("templates: API key name %q is too long for a folder name (%d bytes escaped, at most %d): shorten it in auth.keys", key, b.Len(), maxKeyFolderBytes)
	}
	return b.String(), nil
}

// maxKeyFolderBytes bounds a key folder's name below the 255 bytes that
// common file systems allow for one path component.
const maxKeyFolderBytes = 240

// ObjectName returns "<KeyFolder(key)>/<id>.json", the path relative to
// the store's root at which the file and S3 stores keep a template. It
// returns ErrNotFound for an id that ValidID rejects.
func ObjectName(key, id string) (string, error) {
	folder, err := KeyFolder(key)
	if err != nil {
		return "", err
	}
	if !ValidID(id) {
		return "", ErrNotFound
	}
	return folder + "/" + id + ".json", nil
}

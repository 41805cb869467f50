package engine

import (
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
)

// ConfigSource gives an implementation its settings.
type ConfigSource interface {
	// Unmarshal decodes the settings below the dotted path into out, a
	// pointer to a struct with koanf tags. Missing keys leave out unchanged.
	Unmarshal(path string, out any) error
}

// Deps is what a factory gets to build an implementation.
type Deps struct {
	Config ConfigSource
	Logger *slog.Logger
	Keys   *Keyring
	// Metrics lets an implementation count its own events, such as browser
	// restarts; it may be nil.
	Metrics *Metrics
}

// Factory builds an implementation from configuration.
type Factory[T any] func(Deps) (T, error)

// Registry maps the names used in configuration ("memory", "local",
// "chromium") to factories. Implementation packages register themselves
// in an init function, so that importing a package makes its kind available.
type Registry[T any] struct {
	what      string
	mu        sync.RWMutex
	factories map[string]Factory[T]
}

// NewRegistry returns an empty registry; what names the interface in errors.
func NewRegistry[T any](what string) *Registry[T] {
	return &Registry[T]{what: what, factories: map[string]Factory[T]{}}
}

// Register makes a factory available under name. It panics on a duplicate
// name, because two packages claiming one kind is a programming error.
func (r *Registry[T]) Register(name string, f Factory[T]) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.factories[name]; dup {
		panic(fmt.Sprintf("presso: %s %q registered twice", r.what, name))
	}
	r.factories[name] = f
}

// New builds the implementation registered under name.
func (r *Registry[T]) New(name string, deps Deps) (T, error) {
	r.mu.RLock()
	f, ok := r.factories[name]
	r.mu.RUnlock()
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: %s %q is not available; known kinds: %v", ErrUnknownKind, r.what, name, r.Names())
	}
	v, err := f(deps)
	if err != nil {
		// A factory that returns its constructor's typed nil pointer would
		// give a non-nil interface, which a caller's cleanup would call.
		var zero T
		return zero, err
	}
	return v, nil
}

// Names returns the registered names in order.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.factories))
	for name := range r.factories {
		names = append(names, name)
	}
	sort.Strings(names)
	return slices.Clip(names)
}

// The registries of the four pluggable parts of the pipeline.
var (
	Renderers  = NewRegistry[Renderer]("renderer")
	Storages   = NewRegistry[Storage]("storage")
	Notifiers  = NewRegistry[Notifier]("notifier")
	Transports = NewRegistry[Transport]("transport")
)

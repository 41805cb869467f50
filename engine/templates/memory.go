package templates

import (
	"context"
	"sync"
)

var _ Store = (*Memory)(nil)

// Memory keeps templates in the process's memory, so they are lost when
// it stops. It is meant for tests and for a single process that needs no
// durability. It keeps the encoded form of each template, so no caller
// can change a stored template through a pointer it got back.
type Memory struct {
	mu sync.RWMutex
	// byKey maps a key name to its templates' ids and their Marshal form.
	byKey map[string]map[string][]byte
}

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{byKey: map[string]map[string][]byte{}}
}

// Create stores t unless its key already has a template with its id.
func (m *Memory) Create(_ context.Context, t *Template) error {
	if err := t.CheckStorable(); err != nil {
		return err
	}
	data, err := Marshal(t)
	if err != nil {
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.byKey[t.Key][t.ID]; exists {
		return ErrExists
	}
	if m.byKey[t.Key] == nil {
		m.byKey[t.Key] = map[string][]byte{}
	}
	m.byKey[t.Key][t.ID] = data
	return nil
}

// Get returns a copy of the template id of key.
func (m *Memory) Get(_ context.Context, key, id string) (*Template, error) {
	m.mu.RLock()
	data, ok := m.byKey[key][id]
	m.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	return Unmarshal(data)
}

// List returns copies of the templates of key.
func (m *Memory) List(_ context.Context, key string) ([]*Template, error) {
	if key == "" {
		return nil, errNoKey
	}
	m.mu.RLock()
	encoded := make([][]byte, 0, len(m.byKey[key]))
	for _, data := range m.byKey[key] {
		encoded = append(encoded, data)
	}
	m.mu.RUnlock()

	list := make([]*Template, 0, len(encoded))
	for _, data := range encoded {
		t, err := Unmarshal(data)
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	Sort(list)
	return list, nil
}

// Update replaces the stored template t.ID of t.Key.
func (m *Memory) Update(_ context.Context, t *Template) error {
	if err := t.CheckStorable(); err != nil {
		return err
	}
	data, err := Marshal(t)
	if err != nil {
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.byKey[t.Key][t.ID]; !exists {
		return ErrNotFound
	}
	m.byKey[t.Key][t.ID] = data
	return nil
}

// Delete removes the template id of key.
func (m *Memory) Delete(_ context.Context, key, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, exists := m.byKey[key][id]; !exists {
		return ErrNotFound
	}
	delete(m.byKey[key], id)
	if len(m.byKey[key]) == 0 {
		delete(m.byKey, key)
	}
	return nil
}

// Close does nothing. The templates stay until the process ends.
func (m *Memory) Close() error { return nil }

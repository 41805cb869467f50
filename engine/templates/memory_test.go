package templates_test

import (
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
	"github.com/presso-dev/presso/engine/templates/templatestest"
)

func TestMemoryConformance(t *testing.T) {
	templatestest.Run(t, func(t *testing.T) templatestest.Target {
		store := templates.NewMemory()
		t.Cleanup(func() { store.Close() })
		return templatestest.Target{Store: store}
	})
}

func TestStoresRegistry(t *testing.T) {
	store, err := templates.Stores.New("memory", engine.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := store.(*templates.Memory); !ok {
		t.Errorf("memory is a %T", store)
	}
	if _, err := templates.Stores.New("no-such-store", engine.Deps{}); err == nil {
		t.Error("an unknown store name was accepted")
	}
}

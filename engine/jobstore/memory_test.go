package jobstore_test

import (
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
	"github.com/presso-dev/presso/engine/jobstore/jobstoretest"
)

func TestMemoryConformance(t *testing.T) {
	jobstoretest.Run(t, func(t *testing.T) engine.JobStore {
		store := jobstore.NewMemory()
		t.Cleanup(func() { _ = store.Close() })
		return store
	})
}

func TestMemoryRegistered(t *testing.T) {
	store, err := engine.JobStores.New("memory", engine.Deps{})
	if err != nil {
		t.Fatalf(`JobStores.New("memory"): %v`, err)
	}
	if _, ok := store.(*jobstore.Memory); !ok {
		t.Errorf(`JobStores.New("memory") returned %T, want *jobstore.Memory`, store)
	}
}

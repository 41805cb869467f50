package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
	"github.com/presso-dev/presso/engine/templates/templatestest"
)

func newTestTemplateStore(t *testing.T, dir string) *TemplateStore {
	t.Helper()
	store, err := NewTemplateStore(TemplatesConfig{Dir: dir}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func TestTemplateStoreConformance(t *testing.T) {
	templatestest.Run(t, func(t *testing.T) templatestest.Target {
		dir := filepath.Join(t.TempDir(), "templates")
		store := newTestTemplateStore(t, dir)
		return templatestest.Target{
			Store: store,
			Reopen: func(t *testing.T) templates.Store {
				store.Close()
				return newTestTemplateStore(t, dir)
			},
		}
	})
}

func sampleTemplate(key string) *templates.Template {
	return templates.New(key, templates.Spec{Name: "Invoice", Kind: engine.KindPDF, HTML: "<p>{* DOP_x *}</p>"})
}

func TestTemplateStoreLayout(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "templates")
	store := newTestTemplateStore(t, dir)
	tpl := sampleTemplate("../billing")
	if err := store.Create(context.Background(), tpl); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "%2E%2E%2Fbilling", tpl.ID+".json")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("template file not at %s: %v", path, err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("template file mode %o, want 600", mode)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "templates" {
		t.Errorf("files written outside the templates folder: %v", entries)
	}
	content, _ := os.ReadFile(path)
	if !strings.Contains(string(content), `"key":"../billing"`) || strings.Contains(string(content), "\n") {
		t.Errorf("file content %s: want compact JSON with the owner key", content)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".template-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestTemplateStoreSkipsDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	store := newTestTemplateStore(t, dir)
	good := sampleTemplate("billing")
	if err := store.Create(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	damaged := sampleTemplate("billing")
	os.WriteFile(filepath.Join(dir, "billing", damaged.ID+".json"), []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(dir, "billing", "notes.txt"), []byte("operator notes"), 0o600)
	moved := sampleTemplate("marketing")
	data, _ := templates.Marshal(moved)
	os.WriteFile(filepath.Join(dir, "billing", moved.ID+".json"), data, 0o600)

	list, err := store.List(context.Background(), "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != good.ID {
		t.Errorf("List returned %d templates, want only the readable one", len(list))
	}
	if _, err := store.Get(context.Background(), "billing", moved.ID); err == nil {
		t.Error("Get returned a file that belongs to another key")
	}
}

func TestTemplateStoreRemovesStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "billing"), 0o700)
	stale := filepath.Join(dir, "billing", ".template-1.tmp")
	fresh := filepath.Join(dir, "billing", ".template-2.tmp")
	os.WriteFile(stale, []byte("{"), 0o600)
	os.WriteFile(fresh, []byte("{"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)

	newTestTemplateStore(t, dir)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a temporary file of two hours ago was kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a fresh temporary file, maybe of another process, was removed")
	}
}

func TestTemplateStoreFromConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-config")
	store, err := templates.Stores.New("local", engine.Deps{
		Config: staticConfig{"templates": TemplatesConfig{Dir: dir}},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Create(context.Background(), sampleTemplate("billing")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "billing")); len(entries) != 1 {
		t.Errorf("templates.dir not used: %d files in it", len(entries))
	}
}

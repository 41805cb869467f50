package s3

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
	"github.com/presso-dev/presso/engine/templates/templatestest"
	"github.com/presso-dev/presso/storages/storagetest"
)

func newTestTemplateStore(t *testing.T, cfg Config) *TemplateStore {
	t.Helper()
	store, err := NewTemplateStore(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("NewTemplateStore: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func TestTemplateStoreConformance(t *testing.T) {
	templatestest.Run(t, func(t *testing.T) templatestest.Target {
		fake := storagetest.NewFakeS3(t, testBucket)
		cfg := fakeConfig(fake, testBucket)
		cfg.Prefix = "presso/"
		store := newTestTemplateStore(t, cfg)
		return templatestest.Target{
			Store: store,
			Reopen: func(t *testing.T) templates.Store {
				store.Close()
				return newTestTemplateStore(t, cfg)
			},
		}
	})
}

func sampleTemplate(key string) *templates.Template {
	return templates.New(key, templates.Spec{Name: "Invoice", Kind: engine.KindPDF, HTML: "<p>{* DOP_x *}</p>"})
}

func TestTemplateStoreObjectLayout(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.Prefix = "presso/"
	templateStore := newTestTemplateStore(t, cfg)
	documents := newTestStorage(t, cfg)

	tpl := sampleTemplate("billing/eu")
	if err := templateStore.Create(context.Background(), tpl); err != nil {
		t.Fatal(err)
	}
	store(t, documents, pdfJob(), []byte("%PDF-1.7"))

	want := "presso/templates/billing%2Feu/" + tpl.ID + ".json"
	keys := fake.Keys(t, testBucket)
	if len(keys) != 2 || !slices.Contains(keys, want) {
		t.Fatalf("bucket keys %v, want %s and one document", keys, want)
	}
	content, _ := fake.Object(t, testBucket, want)
	if !bytes.Contains(content, []byte(`"key":"billing/eu"`)) || !bytes.Contains(content, []byte(`"html":"<p>{* DOP_x *}</p>"`)) {
		t.Errorf("object content %s", content)
	}
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, ".json") && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("template uploaded with Content-Type %q", r.Header.Get("Content-Type"))
		}
	}

	// A document is no template, whatever the listing returns.
	list, err := templateStore.List(context.Background(), "billing/eu")
	if err != nil || len(list) != 1 {
		t.Errorf("List: %d templates, %v; want 1", len(list), err)
	}
}

func TestTemplateStoreSkipsDamagedObjects(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	store := newTestTemplateStore(t, cfg)
	good := sampleTemplate("billing")
	if err := store.Create(context.Background(), good); err != nil {
		t.Fatal(err)
	}
	damaged := sampleTemplate("billing")
	_, err := store.storage.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String("templates/billing/" + damaged.ID + ".json"),
		Body: bytes.NewReader([]byte("{not json")),
	})
	if err != nil {
		t.Fatal(err)
	}

	list, err := store.List(context.Background(), "billing")
	if err != nil || len(list) != 1 || list[0].ID != good.ID {
		t.Errorf("List: %d templates, %v; want only the readable one", len(list), err)
	}
}

func TestTemplateStoreReportsStoreFailures(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	store := newTestTemplateStore(t, fakeConfig(fake, testBucket))
	tpl := sampleTemplate("billing")
	if err := store.Create(context.Background(), tpl); err != nil {
		t.Fatal(err)
	}

	fake.Deny(http.StatusForbidden, "AccessDenied", "Access Denied")
	ctx := context.Background()
	_, getErr := store.Get(ctx, "billing", tpl.ID)
	_, listErr := store.List(ctx, "billing")
	for name, err := range map[string]error{
		"Get":    getErr,
		"List":   listErr,
		"Create": store.Create(ctx, sampleTemplate("billing")),
		"Update": store.Update(ctx, tpl.Replaced(tpl.Spec)),
		"Delete": store.Delete(ctx, "billing", tpl.ID),
	} {
		if err == nil || errors.Is(err, templates.ErrNotFound) || errors.Is(err, templates.ErrExists) {
			t.Errorf("%s with access denied: %v, want a store failure", name, err)
			continue
		}
		// A HeadObject response has no body, so only its status gives the reason.
		reason := strings.Contains(err.Error(), "AccessDenied") || strings.Contains(err.Error(), "HTTP 403")
		if !reason || strings.Contains(err.Error(), storagetest.FakeSecretAccessKey) {
			t.Errorf("%s error %q: want S3's reason and no secret", name, err)
		}
	}
}

func TestTemplateStoreChecksBucket(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	_, err := NewTemplateStore(context.Background(), fakeConfig(fake, "no-such-bucket"), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("start with a missing bucket: %v", err)
	}
}

func TestTemplateStoreFromConfig(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	store, err := templates.Stores.New("s3", engine.Deps{
		Config: staticConfig{DefaultConfigPath: fakeConfig(fake, testBucket)},
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tpl := sampleTemplate("billing")
	if err := store.Create(context.Background(), tpl); err != nil {
		t.Fatal(err)
	}
	if keys := fake.Keys(t, testBucket); len(keys) != 1 || keys[0] != "templates/billing/"+tpl.ID+".json" {
		t.Errorf("bucket keys %v", keys)
	}
}

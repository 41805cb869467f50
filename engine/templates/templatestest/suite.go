// Package templatestest checks that a templates.Store keeps the contract
// that the HTTP front relies on. Run checks, for any implementation, that:
//
//   - a created template comes back equal, options included;
//   - one key never reads, changes or deletes another key's template, even
//     when key names contain '/', '.', '%' or non-ASCII letters;
//   - unknown and malformed ids answer ErrNotFound, and a reused id
//     answers ErrExists;
//   - List returns the key's templates in the order of templates.Sort;
//   - Update replaces and Delete removes, both ErrNotFound for a template
//     that is not there;
//   - concurrent calls lose nothing;
//   - templates survive a restart, for stores that promise it.
//
// The package imports the testing package and is meant for _test.go files
// only.
package templatestest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/templates"
)

// Target is one store under test.
type Target struct {
	// Store is the implementation under test, empty. The factory closes
	// it, typically with t.Cleanup.
	Store templates.Store
	// Reopen, when set, closes Store and returns a new store over the same
	// backing folder or bucket, as a restarted process would open it. Nil
	// for a store whose templates do not outlive it.
	Reopen func(t *testing.T) templates.Store
}

// Run checks the templates.Store contract against the targets that
// factory builds, a fresh one for each subtest.
func Run(t *testing.T, factory func(t *testing.T) Target) {
	tests := []struct {
		name string
		run  func(t *testing.T, target Target)
	}{
		{"CreateThenGet", testCreateThenGet},
		{"OptionsRoundTrip", testOptionsRoundTrip},
		{"OtherKeyNotFound", testOtherKeyNotFound},
		{"KeyNamesDoNotCollide", testKeyNamesDoNotCollide},
		{"UnknownAndMalformedIDs", testUnknownAndMalformedIDs},
		{"DuplicateID", testDuplicateID},
		{"ListOrderAndScope", testListOrderAndScope},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"RejectsUnstorable", testRejectsUnstorable},
		{"Concurrent", testConcurrent},
		{"SurvivesReopen", testSurvivesReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, factory(t))
		})
	}
}

// sample returns a pdf template of key with a distinct name.
func sample(key, name string) *templates.Template {
	return templates.New(key, templates.Spec{
		Name: name,
		Kind: engine.KindPDF,
		HTML: "<h1>{* DOP_title *}</h1>",
		PDF:  &engine.PDFOptions{Format: "A4", PrintBackground: true},
	})
}

func mustCreate(t *testing.T, store templates.Store, tpl *templates.Template) {
	t.Helper()
	if err := store.Create(context.Background(), tpl); err != nil {
		t.Fatalf("Create %s: %v", tpl.ID, err)
	}
}

func mustGet(t *testing.T, store templates.Store, key, id string) *templates.Template {
	t.Helper()
	got, err := store.Get(context.Background(), key, id)
	if err != nil {
		t.Fatalf("Get %s of %q: %v", id, key, err)
	}
	return got
}

func assertNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, templates.ErrNotFound) {
		t.Errorf("%s: error %v, want ErrNotFound", what, err)
	}
}

// assertSame fails unless got has want's owner and the same JSON as want.
func assertSame(t *testing.T, got, want *templates.Template) {
	t.Helper()
	if got.Key != want.Key {
		t.Errorf("template %s has key %q, want %q", want.ID, got.Key, want.Key)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("stored template differs:\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func testCreateThenGet(t *testing.T, target Target) {
	tpl := sample("billing", "Invoice")
	mustCreate(t, target.Store, tpl)
	assertSame(t, mustGet(t, target.Store, "billing", tpl.ID), tpl)
}

func testOptionsRoundTrip(t *testing.T, target Target) {
	width, _ := engine.ParseLength("210mm")
	margin, _ := engine.ParseLength("1.5cm")
	quality := 70
	pdf := templates.New("billing", templates.Spec{
		Name: "Letter <&> \"quoted\" ünïcode",
		Kind: engine.KindPDF,
		HTML: "<!doctype html><p>\u2028 {* DOP_x *} </script></p>",
		PDF: &engine.PDFOptions{
			Scale: 0.9, Landscape: true, PageRanges: "1-2", Width: &width,
			Margin:         &engine.Margin{Top: &margin, Bottom: &margin},
			HeaderTemplate: "PGRpdj5oZWFkZXI8L2Rpdj4=", Outline: true,
		},
		Launch: &engine.LaunchOptions{DefaultViewport: &engine.Viewport{Width: 1024, Height: 768, DeviceScaleFactor: 2}},
	})
	shot := templates.New("billing", templates.Spec{
		Name:       "Card",
		Kind:       engine.KindScreenshot,
		HTML:       "<div>card</div>",
		Screenshot: &engine.ScreenshotOptions{Type: "webp", Quality: &quality, Clip: &engine.Clip{Width: 400, Height: 300}},
	})
	for _, tpl := range []*templates.Template{pdf, shot} {
		mustCreate(t, target.Store, tpl)
		assertSame(t, mustGet(t, target.Store, "billing", tpl.ID), tpl)
	}
}

func testOtherKeyNotFound(t *testing.T, target Target) {
	ctx := context.Background()
	tpl := sample("billing", "Invoice")
	mustCreate(t, target.Store, tpl)

	_, err := target.Store.Get(ctx, "marketing", tpl.ID)
	assertNotFound(t, "Get of another key", err)

	stolen := *tpl
	stolen.Key = "marketing"
	stolen.Name = "Stolen"
	assertNotFound(t, "Update of another key", target.Store.Update(ctx, &stolen))
	assertNotFound(t, "Delete of another key", target.Store.Delete(ctx, "marketing", tpl.ID))

	list, err := target.Store.List(ctx, "marketing")
	if err != nil || len(list) != 0 {
		t.Errorf("List of another key: %d templates, %v; want none", len(list), err)
	}
	assertSame(t, mustGet(t, target.Store, "billing", tpl.ID), tpl)
}

// testKeyNamesDoNotCollide stores one template under each of several key
// names that a naive path or prefix scheme would mix up.
func testKeyNamesDoNotCollide(t *testing.T, target Target) {
	ctx := context.Background()
	keys := []string{"a", "a/b", "a%2Fb", "..", ".", "a b", "ä", "A", "a_b", "a-b", "a.b"}
	byKey := map[string]*templates.Template{}
	for _, key := range keys {
		tpl := sample(key, "template of "+key)
		mustCreate(t, target.Store, tpl)
		byKey[key] = tpl
	}
	for _, key := range keys {
		list, err := target.Store.List(ctx, key)
		if err != nil {
			t.Fatalf("List %q: %v", key, err)
		}
		if len(list) != 1 || list[0].ID != byKey[key].ID {
			t.Errorf("List %q returned %d templates, want only its own", key, len(list))
			continue
		}
		assertSame(t, list[0], byKey[key])
		for _, other := range keys {
			if other == key {
				continue
			}
			_, err := target.Store.Get(ctx, other, byKey[key].ID)
			assertNotFound(t, fmt.Sprintf("Get of %q's template as %q", key, other), err)
		}
	}
}

func testUnknownAndMalformedIDs(t *testing.T, target Target) {
	ctx := context.Background()
	tpl := sample("billing", "Invoice")
	mustCreate(t, target.Store, tpl)
	for _, id := range []string{"", "no-such-id", "../billing/" + tpl.ID, tpl.ID + ".json", "billing/" + tpl.ID, tpl.ID + "/", "*", "%2e%2e"} {
		_, err := target.Store.Get(ctx, "billing", id)
		assertNotFound(t, fmt.Sprintf("Get %q", id), err)
		assertNotFound(t, fmt.Sprintf("Delete %q", id), target.Store.Delete(ctx, "billing", id))
	}
	assertSame(t, mustGet(t, target.Store, "billing", tpl.ID), tpl)
}

func testDuplicateID(t *testing.T, target Target) {
	tpl := sample("billing", "Invoice")
	mustCreate(t, target.Store, tpl)
	again := *tpl
	again.Name = "Overwritten"
	if err := target.Store.Create(context.Background(), &again); !errors.Is(err, templates.ErrExists) {
		t.Errorf("Create of an existing id: %v, want ErrExists", err)
	}
	assertSame(t, mustGet(t, target.Store, "billing", tpl.ID), tpl)

	// The same id under another key is another template.
	other := *tpl
	other.Key = "marketing"
	mustCreate(t, target.Store, &other)
}

func testListOrderAndScope(t *testing.T, target Target) {
	ctx := context.Background()
	list, err := target.Store.List(ctx, "billing")
	if err != nil || len(list) != 0 {
		t.Fatalf("List of a key without templates: %d, %v; want none and no error", len(list), err)
	}

	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var want []*templates.Template
	for i, offset := range []int{3, 1, 2, 1} {
		tpl := sample("billing", fmt.Sprintf("T%d", i))
		tpl.CreatedAt = base.Add(time.Duration(offset) * time.Minute)
		tpl.UpdatedAt = tpl.CreatedAt
		mustCreate(t, target.Store, tpl)
		want = append(want, tpl)
	}
	mustCreate(t, target.Store, sample("marketing", "Other key"))
	templates.Sort(want)

	list, err = target.Store.List(ctx, "billing")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("List returned %d templates, want %d", len(list), len(want))
	}
	for i := range want {
		if list[i].ID != want[i].ID {
			t.Errorf("List[%d] is %s (%s), want %s (%s)", i, list[i].Name, list[i].ID, want[i].Name, want[i].ID)
			continue
		}
		assertSame(t, list[i], want[i])
	}
}

func testUpdate(t *testing.T, target Target) {
	ctx := context.Background()
	tpl := sample("billing", "Invoice")
	mustCreate(t, target.Store, tpl)

	replaced := tpl.Replaced(templates.Spec{Name: "Receipt", Kind: engine.KindScreenshot, HTML: "<p>receipt</p>",
		Screenshot: &engine.ScreenshotOptions{Type: "png", FullPage: true}})
	if err := target.Store.Update(ctx, replaced); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got := mustGet(t, target.Store, "billing", tpl.ID)
	assertSame(t, got, replaced)
	if got.PDF != nil {
		t.Error("Update kept the old pdf options: it must replace the whole template")
	}

	missing := sample("billing", "Never created")
	assertNotFound(t, "Update of an unknown id", target.Store.Update(ctx, missing))
	if _, err := target.Store.Get(ctx, "billing", missing.ID); !errors.Is(err, templates.ErrNotFound) {
		t.Error("Update of an unknown id created it")
	}
}

func testDelete(t *testing.T, target Target) {
	ctx := context.Background()
	keep := sample("billing", "Keep")
	gone := sample("billing", "Gone")
	mustCreate(t, target.Store, keep)
	mustCreate(t, target.Store, gone)

	if err := target.Store.Delete(ctx, "billing", gone.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := target.Store.Get(ctx, "billing", gone.ID)
	assertNotFound(t, "Get after Delete", err)
	assertNotFound(t, "second Delete", target.Store.Delete(ctx, "billing", gone.ID))
	assertNotFound(t, "Update after Delete", target.Store.Update(ctx, gone.Replaced(gone.Spec)))

	list, err := target.Store.List(ctx, "billing")
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("List after Delete: %d templates, %v; want only %s", len(list), err, keep.ID)
	}
}

func testRejectsUnstorable(t *testing.T, target Target) {
	ctx := context.Background()
	noKey := sample("", "No owner")
	badID := sample("billing", "Bad id")
	badID.ID = "../escape"
	for name, tpl := range map[string]*templates.Template{"no key": noKey, "bad id": badID} {
		err := target.Store.Create(ctx, tpl)
		if err == nil || errors.Is(err, templates.ErrNotFound) || errors.Is(err, templates.ErrExists) {
			t.Errorf("Create with %s: %v, want an error other than ErrNotFound and ErrExists", name, err)
		}
	}
	if _, err := target.Store.List(ctx, ""); err == nil {
		t.Error("List of an empty key name succeeded, want an error")
	}
}

func testConcurrent(t *testing.T, target Target) {
	ctx := context.Background()
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("key-%d", w%2)
			for i := range each {
				tpl := sample(key, fmt.Sprintf("w%d-%d", w, i))
				if err := target.Store.Create(ctx, tpl); err != nil {
					errs <- err
					continue
				}
				if _, err := target.Store.Get(ctx, key, tpl.ID); err != nil {
					errs <- err
				}
				if _, err := target.Store.List(ctx, key); err != nil {
					errs <- err
				}
				if err := target.Store.Update(ctx, tpl.Replaced(tpl.Spec)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	total := 0
	for _, key := range []string{"key-0", "key-1"} {
		list, err := target.Store.List(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		total += len(list)
	}
	if total != workers*each {
		t.Errorf("%d templates stored, want %d", total, workers*each)
	}
}

func testSurvivesReopen(t *testing.T, target Target) {
	if target.Reopen == nil {
		t.Skip("the store keeps its templates in memory only")
	}
	kept := sample("billing", "Kept")
	deleted := sample("billing", "Deleted")
	mustCreate(t, target.Store, kept)
	mustCreate(t, target.Store, deleted)
	if err := target.Store.Delete(context.Background(), "billing", deleted.ID); err != nil {
		t.Fatal(err)
	}

	reopened := target.Reopen(t)
	assertSame(t, mustGet(t, reopened, "billing", kept.ID), kept)
	list, err := reopened.List(context.Background(), "billing")
	if err != nil || len(list) != 1 {
		t.Errorf("List after reopening: %d templates, %v; want 1", len(list), err)
	}
}

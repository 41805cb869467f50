package jobstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/presso-dev/presso/configs"
	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore/jobstoretest"
)

// testDSNVariable names the environment variable with the connection
// string of the PostgreSQL tests' database.
const testDSNVariable = "PRESSO_TEST_POSTGRES_DSN"

// testDSN returns the tests' connection string. Without one, the test is
// skipped on a developer's machine and fails in CI, where the variable CI
// is set.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(testDSNVariable)
	if dsn != "" {
		return dsn
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set: CI must run the PostgreSQL job store tests", testDSNVariable)
	}
	t.Skipf("%s is not set: set it to run the PostgreSQL job store tests, e.g. postgres://presso:presso@127.0.0.1:5432/presso_test?sslmode=disable", testDSNVariable)
	return ""
}

// isolatedPrefix returns a table prefix used by t only, and drops the
// tables of that prefix when t ends, so that tests can share a database
// with each other and with other packages' tests.
func isolatedPrefix(t *testing.T, dsn string) string {
	t.Helper()
	prefix := "presso_test_" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("connect to drop the tables of prefix %s: %v", prefix, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %sjobs, %sidempotency", prefix, prefix)); err != nil {
			t.Errorf("drop the tables of prefix %s: %v", prefix, err)
		}
	})
	return prefix
}

// openStore opens a store on the tables of prefix and closes it when t
// ends, before isolatedPrefix's cleanup drops the tables.
func openStore(t *testing.T, dsn, prefix string) *Postgres {
	t.Helper()
	store, err := NewPostgres(t.Context(), dsn, nil, WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("NewPostgres: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func TestPostgresConformance(t *testing.T) {
	dsn := testDSN(t)
	jobstoretest.Run(t, func(t *testing.T) engine.JobStore {
		return openStore(t, dsn, isolatedPrefix(t, dsn))
	})
}

// TestPostgresClaimAcrossStores claims from two stores with their own
// connection pools, as two processes of a fleet do.
func TestPostgresClaimAcrossStores(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	prefix := isolatedPrefix(t, dsn)
	stores := []*Postgres{openStore(t, dsn, prefix), openStore(t, dsn, prefix)}

	const deliveries = 30
	ctx := t.Context()
	base := time.Now().UTC().Truncate(time.Millisecond)
	for i := range deliveries {
		id := fmt.Sprintf("job-%02d", i)
		if err := stores[0].Create(ctx, &engine.JobRecord{JobID: id, Mode: engine.ModeAsync, Kind: engine.KindPDF, CreatedAt: base}); err != nil {
			t.Fatalf("Create(%s): %v", id, err)
		}
		d := &engine.Delivery{JobID: id, Webhook: engine.Webhook{URL: "http://127.0.0.1:9/hooks/presso"}}
		if err := stores[0].ScheduleDelivery(ctx, d, base); err != nil {
			t.Fatalf("ScheduleDelivery(%s): %v", id, err)
		}
	}

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	for i := range 8 {
		store := stores[i%2]
		wg.Go(func() {
			for {
				claimed, err := store.ClaimDeliveries(ctx, base, time.Minute, 2)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, d := range claimed {
					counts[d.JobID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	for id, n := range counts {
		if n != 1 {
			t.Errorf("delivery of %s was claimed %d times, want once", id, n)
		}
	}
	if len(counts) != deliveries {
		t.Errorf("%d deliveries were claimed, want all %d", len(counts), deliveries)
	}
}

// TestPostgresConcurrentStart starts stores on the same new tables at once,
// as processes of a fleet that start together do.
func TestPostgresConcurrentStart(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	prefix := isolatedPrefix(t, dsn)

	const starters = 4
	var wg sync.WaitGroup
	for range starters {
		wg.Go(func() {
			store, err := NewPostgres(t.Context(), dsn, nil, WithTablePrefix(prefix))
			if err != nil {
				t.Errorf("NewPostgres: %v", err)
				return
			}
			_ = store.Close()
		})
	}
	wg.Wait()
}

func TestPostgresCreateDuplicate(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	store := openStore(t, dsn, isolatedPrefix(t, dsn))
	rec := &engine.JobRecord{JobID: "job-1", RequestID: "first", Mode: engine.ModeSync, Kind: engine.KindPDF, CreatedAt: time.Now()}
	if err := store.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create: %v", err)
	}

	duplicate := *rec
	duplicate.RequestID = "second"
	err := store.Create(t.Context(), &duplicate)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Create of a taken id: error = %v, want one saying the job already exists", err)
	}
	got, err := store.Get(t.Context(), "job-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.RequestID != "first" {
		t.Errorf("RequestID = %q after a duplicate Create, want the first job's %q", got.RequestID, "first")
	}
}

// TestPostgresNULCharacters stores text with NUL characters, which jsonb
// rejects, in the fields a receiver or a page can fill.
func TestPostgresNULCharacters(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	store := openStore(t, dsn, isolatedPrefix(t, dsn))
	ctx := t.Context()
	if err := store.Create(ctx, &engine.JobRecord{JobID: "job-1", Mode: engine.ModeAsync, Kind: engine.KindPDF, CreatedAt: time.Now()}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	renderError := engine.Errorf("navigation_failed", "page said a\x00b")
	if err := store.SetResult(ctx, "job-1", &engine.Result{Status: engine.StatusError, Error: renderError}); err != nil {
		t.Fatalf("SetResult: %v", err)
	}
	d := &engine.Delivery{JobID: "job-1", Payload: engine.Payload{RenderStatus: engine.StatusError, Error: renderError}}
	if err := store.ScheduleDelivery(ctx, d, time.Now()); err != nil {
		t.Fatalf("ScheduleDelivery: %v", err)
	}
	if err := store.RecordAttempt(ctx, "job-1", engine.Attempt{At: time.Now(), Error: "receiver sent a\x00b"}); err != nil {
		t.Fatalf("RecordAttempt: %v", err)
	}

	rec, err := store.Get(ctx, "job-1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if rec.Error.Message != "page said a\uFFFDb" {
		t.Errorf("Error.Message = %q, want the NUL replaced with U+FFFD", rec.Error.Message)
	}
	if rec.Attempts[0].Error != "receiver sent a\uFFFDb" {
		t.Errorf("Attempts[0].Error = %q, want the NUL replaced with U+FFFD", rec.Attempts[0].Error)
	}
	pending, err := store.PendingDelivery(ctx, "job-1")
	if err != nil {
		t.Fatalf("PendingDelivery: %v", err)
	}
	if pending.Payload.Error.Message != "page said a\uFFFDb" {
		t.Errorf("Payload.Error.Message = %q, want the NUL replaced with U+FFFD", pending.Payload.Error.Message)
	}
}

func TestMarshalJSONB(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no NUL", "plain", "plain"},
		{"NUL", "a\x00b", "a\uFFFDb"},
		{"escaped backslash before u0000", `a\u0000b`, `a\u0000b`},
		{"escaped backslash then NUL", "a\\\x00b", "a\\\uFFFDb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := marshalJSONB(tc.in)
			if err != nil {
				t.Fatalf("marshalJSONB: %v", err)
			}
			var got string
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			if got != tc.want {
				t.Errorf("marshalJSONB(%q) decodes to %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewPostgresInvalidPrefix(t *testing.T) {
	for _, prefix := range []string{"Presso_", "1presso_", "presso-", "presso.jobs_", strings.Repeat("p", 33)} {
		_, err := NewPostgres(t.Context(), "postgres://presso@127.0.0.1:1/presso", nil, WithTablePrefix(prefix))
		if err == nil || !strings.Contains(err.Error(), "invalid job store table prefix") {
			t.Errorf("NewPostgres with prefix %q: error = %v, want an invalid prefix error", prefix, err)
		}
	}
}

// TestNewPostgresHidesPassword checks the errors of a malformed connection
// string and of a refused connection, which both end up in logs.
func TestNewPostgresHidesPassword(t *testing.T) {
	const password = "s3cret-password"
	for _, dsn := range []string{
		"postgres://presso:" + password + "@127.0.0.1:notaport/presso",
		"host=127.0.0.1 port=notaport password=" + password,
		"postgres://presso:" + password + "@127.0.0.1:1/presso?connect_timeout=5",
	} {
		_, err := NewPostgres(t.Context(), dsn, nil)
		if err == nil {
			t.Errorf("NewPostgres(%q) succeeded, want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("NewPostgres error shows the password: %v", err)
		}
	}
}

func loadConfig(t *testing.T, overrides map[string]any) *configs.Config {
	t.Helper()
	cfg, err := configs.Load("", overrides)
	if err != nil {
		t.Fatalf("configs.Load: %v", err)
	}
	return cfg
}

func TestPostgresFactoryWithoutDSN(t *testing.T) {
	_, err := engine.JobStores.New("postgres", engine.Deps{Config: loadConfig(t, nil)})
	if err == nil {
		t.Fatal(`JobStores.New("postgres") without a DSN succeeded, want an error`)
	}
	for _, key := range []string{"jobs.postgres.dsn", "transport.postgres.dsn"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name the key %s", err, key)
		}
	}
}

func TestPostgresFactory(t *testing.T) {
	dsn := testDSN(t)
	tests := []struct {
		name      string
		overrides func(prefix string) map[string]any
	}{
		{"jobs.postgres.dsn", func(prefix string) map[string]any {
			return map[string]any{"jobs.postgres.dsn": dsn, "jobs.postgres.table_prefix": prefix}
		}},
		{"transport.postgres.dsn", func(prefix string) map[string]any {
			return map[string]any{"transport.postgres.dsn": dsn, "jobs.postgres.table_prefix": prefix}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := isolatedPrefix(t, dsn)
			store, err := engine.JobStores.New("postgres", engine.Deps{Config: loadConfig(t, tc.overrides(prefix))})
			if err != nil {
				t.Fatalf(`JobStores.New("postgres"): %v`, err)
			}
			t.Cleanup(func() { _ = store.Close() })
			if got := store.(*Postgres).tablePrefix; got != prefix {
				t.Errorf("table prefix = %q, want %q from jobs.postgres.table_prefix", got, prefix)
			}
			if err := store.Create(t.Context(), &engine.JobRecord{JobID: "job-1", Mode: engine.ModeSync, Kind: engine.KindPDF, CreatedAt: time.Now()}); err != nil {
				t.Errorf("Create: %v", err)
			}
		})
	}
}

package postgres

import (
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/transports/transporttest"
)

// testDSN returns the database of the tests, from PRESSO_TEST_POSTGRES_DSN.
// Without it the tests are skipped on a developer's machine and fail in CI,
// where a skipped transport would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("PRESSO_TEST_POSTGRES_DSN")
	if dsn != "" {
		return dsn
	}
	if os.Getenv("CI") != "" {
		t.Fatal("PRESSO_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL transport tests against a server")
	}
	t.Skip("PRESSO_TEST_POSTGRES_DSN is not set, for example postgres://presso:presso@127.0.0.1:5432/presso_test?sslmode=disable")
	return ""
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestTransport(t *testing.T) *Transport {
	t.Helper()
	tr, err := NewWithConfig(Config{DSN: testDSN(t)}, quietLogger())
	if err != nil {
		t.Fatalf("new transport: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func factory(t *testing.T) engine.Transport { return newTestTransport(t) }

func TestConformance(t *testing.T) {
	testDSN(t)
	transporttest.Run(t, factory, transporttest.Features{ConsumerGroups: true, Durable: true})
}

func TestWorkersRenderInParallel(t *testing.T) {
	testDSN(t)
	t.Parallel()
	got := transporttest.RunWorkerParallelism(t, factory)
	t.Logf("10 jobs of 300 ms on two workers: %s (serial %s), split %d/%d", got.Elapsed, got.Serial, got.Split[0], got.Split[1])
}

func TestPublishToHandlerLatency(t *testing.T) {
	testDSN(t)
	t.Parallel()
	latencies := transporttest.MeasureLatency(t, factory, 20, 3*DefaultPollInterval)
	t.Logf("publish to handler with %s polling and %d consumers: min %s, median %s, max %s",
		DefaultPollInterval, DefaultConsumers, latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])
}

// A group that registers while messages are being published must get each
// of them exactly once: those published before its registration through
// the backfill, the others through the publish itself.
func TestRegistrationDuringPublishes(t *testing.T) {
	tr := newTestTransport(t)
	t.Parallel()
	topic := "presso.test-registration-" + watermill.NewShortUUID()

	var mu sync.Mutex
	var published []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				msg := message.NewMessage(watermill.NewUUID(), []byte("{}"))
				if err := tr.Publisher().Publish(topic, msg); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
				mu.Lock()
				published = append(published, msg.UUID)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	sub, err := tr.Subscriber("late-group")
	if err != nil {
		t.Fatal(err)
	}
	messages, err := sub.Subscribe(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	seen := map[string]int{}
	deadline := time.After(30 * time.Second)
	for len(seen) < len(published) {
		select {
		case msg := <-messages:
			seen[msg.UUID]++
			msg.Ack()
		case <-deadline:
			t.Fatalf("group received %d of %d messages", len(seen), len(published))
		}
	}
	quiet := time.After(500 * time.Millisecond)
	for done := false; !done; {
		select {
		case msg := <-messages:
			seen[msg.UUID]++
			msg.Ack()
		case <-quiet:
			done = true
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("message %s delivered %d times", id, n)
		}
	}
}

// A per-process group starts at the present, and its rows go when its
// transport closes.
func TestEphemeralGroup(t *testing.T) {
	tr := newTestTransport(t)
	t.Parallel()
	topic := "presso.test-ephemeral-" + watermill.NewShortUUID()
	group := engine.GroupAPIPrefix + watermill.NewShortUUID()
	old := message.NewMessage(watermill.NewUUID(), []byte("{}"))
	if err := tr.Publisher().Publish(topic, old); err != nil {
		t.Fatal(err)
	}

	other := newTestTransport(t)
	sub, err := other.Subscriber(group)
	if err != nil {
		t.Fatal(err)
	}
	messages, err := sub.Subscribe(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	fresh := message.NewMessage(watermill.NewUUID(), []byte("{}"))
	if err := tr.Publisher().Publish(topic, fresh); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-messages:
		if msg.UUID != fresh.UUID {
			t.Errorf("first message = %s, want the one published after Subscribe (%s), not %s", msg.UUID, fresh.UUID, old.UUID)
		}
		msg.Ack()
	case <-time.After(10 * time.Second):
		t.Fatal("message published after Subscribe not delivered")
	}

	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	var groups int
	err = tr.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+tableGroups+` WHERE topic = $1 AND consumer_group = $2`, topic, group).Scan(&groups)
	if err != nil {
		t.Fatal(err)
	}
	if groups != 0 {
		t.Errorf("group rows after Close = %d, want 0", groups)
	}
}

func TestJanitorRemovesExpiredRows(t *testing.T) {
	tr := newTestTransport(t)
	t.Parallel()
	ctx := t.Context()
	topic := "presso.test-janitor-" + watermill.NewShortUUID()
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := tr.pool.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := tr.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	// A stale per-process group with a pending delivery, a live one, and
	// two old messages of which one is still pending.
	exec(`INSERT INTO `+tableGroups+` (topic, consumer_group, ephemeral, seen_at) VALUES ($1, 'presso-api-stale', TRUE, now() - interval '2 hours'), ($1, 'presso-api-live', TRUE, now())`, topic)
	exec(`INSERT INTO `+tableMessages+` (topic, uuid, created_at) VALUES ($1, 'handled', now() - interval '2 hours'), ($1, 'pending', now() - interval '2 hours')`, topic)
	exec(`INSERT INTO `+tableDeliveries+` (topic, consumer_group, "offset") SELECT $1, 'presso-api-stale', "offset" FROM `+tableMessages+` WHERE topic = $1 AND uuid = 'handled'`, topic)
	exec(`INSERT INTO `+tableDeliveries+` (topic, consumer_group, "offset") SELECT $1, 'presso-api-live', "offset" FROM `+tableMessages+` WHERE topic = $1 AND uuid = 'pending'`, topic)

	if _, err := tr.expireGroups(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.deleteExpiredMessages(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}

	if n := count(`SELECT count(*) FROM `+tableGroups+` WHERE topic = $1 AND consumer_group = 'presso-api-stale'`, topic); n != 0 {
		t.Errorf("stale group rows = %d, want 0", n)
	}
	if n := count(`SELECT count(*) FROM `+tableGroups+` WHERE topic = $1 AND consumer_group = 'presso-api-live'`, topic); n != 1 {
		t.Errorf("live group rows = %d, want 1", n)
	}
	if n := count(`SELECT count(*) FROM `+tableMessages+` WHERE topic = $1 AND uuid = 'handled'`, topic); n != 0 {
		t.Errorf("handled old message rows = %d, want 0 (its only delivery belonged to the stale group)", n)
	}
	if n := count(`SELECT count(*) FROM `+tableMessages+` WHERE topic = $1 AND uuid = 'pending'`, topic); n != 1 {
		t.Errorf("pending old message rows = %d, want 1", n)
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	got, err := Config{DSN: "postgres://127.0.0.1/presso"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DSN: "postgres://127.0.0.1/presso", PollInterval: DefaultPollInterval, AckDeadline: DefaultAckDeadline, Consumers: DefaultConsumers, Retention: DefaultRetention}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}

	cases := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"missing dsn", Config{}, "transport.postgres.dsn"},
		{"negative poll interval", Config{DSN: "x", PollInterval: -time.Second}, "transport.postgres.poll_interval"},
		{"negative ack deadline", Config{DSN: "x", AckDeadline: -time.Second}, "transport.postgres.ack_deadline"},
		{"negative consumers", Config{DSN: "x", Consumers: -1}, "transport.postgres.consumers"},
		{"negative retention", Config{DSN: "x", Retention: -time.Hour}, "transport.postgres.retention"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.cfg.withDefaults()
			if err == nil || !strings.Contains(err.Error(), c.key) {
				t.Errorf("error = %v, want one naming %s", err, c.key)
			}
		})
	}
}

type mapConfig map[string]Config

func (m mapConfig) Unmarshal(path string, out any) error {
	cfg, ok := m[path]
	if !ok {
		return nil
	}
	*(out.(*Config)) = cfg
	return nil
}

func TestRegistryBuildsTransport(t *testing.T) {
	dsn := testDSN(t)
	deps := engine.Deps{Config: mapConfig{"transport.postgres": {DSN: dsn}}, Logger: quietLogger()}
	tr, err := engine.Transports.New("postgres", deps)
	if err != nil {
		t.Fatalf("build from registry: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}

	_, err = engine.Transports.New("postgres", engine.Deps{Config: mapConfig{}, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "transport.postgres.dsn") {
		t.Errorf("error without dsn = %v, want one naming transport.postgres.dsn", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	// Port 1 on loopback refuses connections at once.
	_, err := NewWithConfig(Config{DSN: "postgres://presso:secret-password@127.0.0.1:1/presso?connect_timeout=2"}, quietLogger())
	if err == nil {
		t.Fatal("NewWithConfig succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "secret-password") {
		t.Errorf("error reveals the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error = %v, want one naming the server", err)
	}
}

func TestEngineRoundTrip(t *testing.T) {
	testDSN(t)
	t.Parallel()
	transporttest.RunEngineRoundTrip(t, factory)
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.Transports.Register("postgres", New)
}

// startTimeout bounds connecting and creating the schema in New.
const startTimeout = 30 * time.Second

// ErrClosed is returned by Subscribe and Subscriber after Close.
var ErrClosed = errors.New("postgres transport is closed")

// Transport publishes and consumes through PostgreSQL tables.
type Transport struct {
	cfg     Config
	logger  *slog.Logger
	wlogger watermill.LoggerAdapter
	// pool publishes, registers groups and cleans up. Each subscription
	// has a pool of its own (see subscriber.Subscribe), so that consumers
	// waiting for their handlers can never take the connections that
	// those handlers need to publish their results.
	pool       *pgxpool.Pool
	poolConfig *pgxpool.Config
	publisher  *wsql.Publisher

	mu          sync.Mutex
	closed      bool
	subscribers []*subscriber
	// ephemeral lists the per-process groups registered by this transport,
	// which get heartbeats and are dropped at Close.
	ephemeral map[registration]struct{}

	stopJanitor chan struct{}
	janitorDone chan struct{}
}

var _ engine.Transport = (*Transport)(nil)

// New builds the transport from the settings under transport.postgres.
func New(deps engine.Deps) (engine.Transport, error) {
	var cfg Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("transport.postgres", &cfg); err != nil {
			return nil, err
		}
	}
	return NewWithConfig(cfg, deps.Logger)
}

// NewWithConfig connects to PostgreSQL, creates the transport's tables when
// they are missing, and starts the background cleanup.
func NewWithConfig(cfg Config, logger *slog.Logger) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "transport", "transport", "postgres")

	poolConfig, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx masks the password in its parse errors.
		return nil, fmt.Errorf("transport.postgres.dsn is invalid: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), poolConfig)
	if err != nil {
		return nil, fmt.Errorf("create PostgreSQL pool: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	server := fmt.Sprintf("%s:%d/%s", poolConfig.ConnConfig.Host, poolConfig.ConnConfig.Port, poolConfig.ConnConfig.Database)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", server, err)
	}
	if err := createSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}

	wlogger := watermill.NewSlogLogger(logger)
	publisher, err := wsql.NewPublisher(wsql.BeginnerFromPgx(pool), wsql.PublisherConfig{SchemaAdapter: queueSchema{}}, wlogger)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("create publisher: %w", err)
	}

	t := &Transport{
		cfg:         cfg,
		logger:      logger,
		wlogger:     wlogger,
		pool:        pool,
		poolConfig:  poolConfig,
		publisher:   publisher,
		ephemeral:   map[registration]struct{}{},
		stopJanitor: make(chan struct{}),
		janitorDone: make(chan struct{}),
	}
	go t.runJanitor()
	logger.Info("transport connected", "server", server, "pollInterval", cfg.PollInterval, "ackDeadline", cfg.AckDeadline, "consumers", cfg.Consumers)
	return t, nil
}

// Publisher returns the publisher shared by the whole process. Publish
// returns once the message and its delivery rows are committed.
func (t *Transport) Publisher() message.Publisher { return t.publisher }

// Subscriber returns a subscriber in group. Subscribers of one group, in
// this process or another, split the messages of a topic; every group gets
// every message. Groups whose name starts with engine.GroupAPIPrefix belong
// to one process: they start with the messages published after their first
// Subscribe and are dropped when the transport closes.
func (t *Transport) Subscriber(group string) (message.Subscriber, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	s := &subscriber{transport: t, group: group, closing: make(chan struct{})}
	t.subscribers = append(t.subscribers, s)
	return s, nil
}

// Close stops every subscription, which hands back the messages still
// held by handlers, drops this process's own groups and closes the
// connections. It is safe to call more than once.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	subscribers := t.subscribers
	t.mu.Unlock()

	var errs []error
	for _, s := range subscribers {
		errs = append(errs, s.Close())
	}
	close(t.stopJanitor)
	<-t.janitorDone
	errs = append(errs, t.publisher.Close())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.dropEphemeralGroups(ctx); err != nil {
		t.logger.Warn("dropping this process's consumer groups failed; the cleanup of another process will drop them", "error", err)
	}
	t.pool.Close()
	return errors.Join(errs...)
}

package jobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/presso-dev/presso/engine"
)

// DefaultTablePrefix starts the names of the PostgreSQL job store's tables
// and indexes: presso_jobs and presso_idempotency.
const DefaultTablePrefix = "presso_"

// postgresStartTimeout bounds connecting and creating the schema when the
// store is built from configuration, which gives the factory no context.
const postgresStartTimeout = 30 * time.Second

// maxTablePrefixLength keeps every derived name, the longest being
// <prefix>idempotency_created_at_idx, within PostgreSQL's 63-byte limit on
// identifiers.
const maxTablePrefixLength = 32

var tablePrefixPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func init() {
	engine.JobStores.Register("postgres", newPostgresFromConfig)
}

// PostgresConfig is the configuration of the postgres job store, read from
// jobs.postgres.
type PostgresConfig struct {
	// DSN is the connection string, as a URL or as key=value pairs; pgxpool
	// settings such as pool_max_conns go in it too. Empty means
	// transport.postgres.dsn, so that one database can serve both.
	DSN string `koanf:"dsn"`
	// TablePrefix starts the names of the store's tables and indexes.
	// Empty means DefaultTablePrefix.
	TablePrefix string `koanf:"table_prefix"`
}

func newPostgresFromConfig(deps engine.Deps) (engine.JobStore, error) {
	var cfg PostgresConfig
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("jobs.postgres", &cfg); err != nil {
			return nil, err
		}
		if cfg.DSN == "" {
			var transport struct {
				DSN string `koanf:"dsn"`
			}
			if err := deps.Config.Unmarshal("transport.postgres", &transport); err != nil {
				return nil, err
			}
			cfg.DSN = transport.DSN
		}
	}
	if cfg.DSN == "" {
		return nil, errors.New("the postgres job store needs a connection string: set jobs.postgres.dsn, or transport.postgres.dsn to share the transport's database")
	}
	ctx, cancel := context.WithTimeout(context.Background(), postgresStartTimeout)
	defer cancel()
	return NewPostgres(ctx, cfg.DSN, deps.Logger, WithTablePrefix(cfg.TablePrefix))
}

// PostgresOption changes how NewPostgres sets up the store.
type PostgresOption func(*postgresOptions)

type postgresOptions struct {
	tablePrefix string
}

// WithTablePrefix makes the store use tables named prefix+"jobs" and
// prefix+"idempotency". The prefix must be lowercase letters, digits and
// underscores, start with a letter or an underscore, and be at most 32
// bytes long. An empty prefix means DefaultTablePrefix. Separate prefixes
// let several stores, such as parallel tests, share one database.
func WithTablePrefix(prefix string) PostgresOption {
	return func(o *postgresOptions) { o.tablePrefix = prefix }
}

// Postgres is a job store in PostgreSQL, shared by every process of a fleet
// and durable across restarts. ClaimDeliveries locks the rows it leases with
// FOR UPDATE SKIP LOCKED, so each due delivery goes to one caller only.
//
// Pending deliveries are stored whole, webhook URL, headers and payload
// included, because a retry after a restart needs them. Of an Attempt, only
// the fields that have a JSON name are kept: Duration and RetryAfter read
// back as zero, and DurationMs carries the duration.
type Postgres struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	// tables replaces {jobs}, {idempotency} and {prefix} in query templates
	// with the prefixed names.
	tables      *strings.Replacer
	tablePrefix string
}

var _ engine.JobStore = (*Postgres)(nil)

// NewPostgres connects to the database at dsn and creates the store's
// tables and indexes when they do not exist yet. A nil logger discards the
// store's log records. Close releases the connections.
func NewPostgres(ctx context.Context, dsn string, logger *slog.Logger, opts ...PostgresOption) (*Postgres, error) {
	options := postgresOptions{tablePrefix: DefaultTablePrefix}
	for _, opt := range opts {
		opt(&options)
	}
	if options.tablePrefix == "" {
		options.tablePrefix = DefaultTablePrefix
	}
	if len(options.tablePrefix) > maxTablePrefixLength || !tablePrefixPattern.MatchString(options.tablePrefix) {
		return nil, fmt.Errorf("invalid job store table prefix %q: use at most %d lowercase letters, digits and underscores, not starting with a digit", options.tablePrefix, maxTablePrefixLength)
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	poolConfig, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx masks passwords in parse errors on a best-effort basis only,
		// so the string and the parser's message stay out of the error.
		return nil, errors.New("invalid PostgreSQL connection string for the job store: use postgres://user:password@host:5432/database or key=value pairs (the string is not shown because it may contain a password)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, fmt.Errorf("connect the postgres job store: %w", err)
	}
	p := &Postgres{
		pool:        pool,
		logger:      logger,
		tablePrefix: options.tablePrefix,
		tables: strings.NewReplacer(
			"{jobs}", options.tablePrefix+"jobs",
			"{idempotency}", options.tablePrefix+"idempotency",
			"{prefix}", options.tablePrefix,
		),
	}
	if err := p.createSchema(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	logger.Info("postgres job store ready", "tables", []string{options.tablePrefix + "jobs", options.tablePrefix + "idempotency"})
	return p, nil
}

// schema lists the statements that create the tables and the indexes of
// the queries' filters. The partial index on next_attempt_at serves
// ClaimDeliveries, and the created_at indexes serve DeleteBefore.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS {jobs} (
		job_id           text PRIMARY KEY,
		request_id       text NOT NULL,
		key              text NOT NULL,
		mode             text NOT NULL,
		kind             text NOT NULL,
		state            text NOT NULL,
		render_status    text NOT NULL DEFAULT '',
		error            jsonb,
		document_url     text NOT NULL DEFAULT '',
		is_custom_bucket boolean NOT NULL DEFAULT false,
		created_at       timestamptz NOT NULL,
		updated_at       timestamptz NOT NULL,
		rendered_at      timestamptz,
		render_ms        bigint NOT NULL DEFAULT 0,
		delivered_at     timestamptz,
		next_attempt_at  timestamptz,
		attempts         jsonb NOT NULL DEFAULT '[]',
		delivery         jsonb,
		pending          boolean NOT NULL DEFAULT false,
		leased_until     timestamptz
	)`,
	`CREATE INDEX IF NOT EXISTS {prefix}jobs_due_idx ON {jobs} (next_attempt_at) WHERE pending`,
	`CREATE INDEX IF NOT EXISTS {prefix}jobs_created_at_idx ON {jobs} (created_at)`,
	`CREATE INDEX IF NOT EXISTS {prefix}jobs_queued_idx ON {jobs} (created_at) WHERE state = 'queued'`,
	`CREATE TABLE IF NOT EXISTS {idempotency} (
		key             text NOT NULL,
		idempotency_key text NOT NULL,
		fingerprint     text NOT NULL,
		status          integer NOT NULL DEFAULT 0,
		content_type    text NOT NULL DEFAULT '',
		body            bytea,
		created_at      timestamptz NOT NULL,
		pending         boolean NOT NULL,
		PRIMARY KEY (key, idempotency_key)
	)`,
	`CREATE INDEX IF NOT EXISTS {prefix}idempotency_created_at_idx ON {idempotency} (created_at)`,
}

// createSchema runs the schema in one transaction. Processes starting
// together would otherwise race in CREATE TABLE IF NOT EXISTS, which can
// fail with a unique violation in the system catalogs, so the transaction
// first takes an advisory lock named after the table prefix.
func (p *Postgres) createSchema(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('presso.jobstore.' || $1))`, p.tablePrefix); err != nil {
			return err
		}
		for _, statement := range schema {
			if _, err := tx.Exec(ctx, p.sql(statement)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create the job store tables %sjobs and %sidempotency: %w", p.tablePrefix, p.tablePrefix, err)
	}
	return nil
}

// sql returns query with the store's table names in place of {jobs},
// {idempotency} and {prefix}.
func (p *Postgres) sql(query string) string { return p.tables.Replace(query) }

// Close releases the store's connections, waiting for queries in progress.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

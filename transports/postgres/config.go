package postgres

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultPollInterval = 50 * time.Millisecond
	DefaultAckDeadline  = 5 * time.Minute
	DefaultConsumers    = 4
	DefaultRetention    = 24 * time.Hour
)

// Config configures the PostgreSQL transport, under the configuration key
// transport.postgres. A zero field takes its default.
type Config struct {
	// DSN is the pgx connection string, a URL such as
	// postgres://user:password@host:5432/db?sslmode=verify-full or
	// key=value pairs. Pool settings such as pool_max_conns apply to the
	// connections that publish. Required.
	DSN string `koanf:"dsn"`
	// PollInterval is the pause of an idle consumer between two queries
	// for new messages, and so roughly the added latency of a message
	// that arrives while its topic is idle. Default: 50ms.
	PollInterval time.Duration `koanf:"poll_interval"`
	// AckDeadline is how long a handler may hold a message before the
	// message is taken back and delivered again. Set it above the slowest
	// render plus upload. Default: 5m.
	AckDeadline time.Duration `koanf:"ack_deadline"`
	// Consumers is how many messages of one topic a subscription of this
	// process handles at once, each in its own database transaction and
	// connection. Default: 4, the engine's default concurrency.
	Consumers int `koanf:"consumers"`
	// Retention is how long a message that no group still has to handle
	// is kept, for a group that subscribes for the first time and is given
	// the messages published before it existed. Default: 24h.
	Retention time.Duration `koanf:"retention"`
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.AckDeadline == 0 {
		c.AckDeadline = DefaultAckDeadline
	}
	if c.Consumers == 0 {
		c.Consumers = DefaultConsumers
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}

	if c.DSN == "" {
		return c, errors.New("transport.postgres.dsn is missing: set it to a connection URL such as postgres://presso:secret@127.0.0.1:5432/presso")
	}
	if c.PollInterval < 0 {
		return c, fmt.Errorf("transport.postgres.poll_interval must be positive, got %s", c.PollInterval)
	}
	if c.AckDeadline < 0 {
		return c, fmt.Errorf("transport.postgres.ack_deadline must be positive, got %s", c.AckDeadline)
	}
	if c.Consumers < 0 {
		return c, fmt.Errorf("transport.postgres.consumers must be at least 1, got %d", c.Consumers)
	}
	if c.Retention < 0 {
		return c, fmt.Errorf("transport.postgres.retention must be positive, got %s", c.Retention)
	}
	return c, nil
}

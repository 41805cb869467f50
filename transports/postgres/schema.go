package postgres

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"fmt"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The transport's tables, shared by every topic. Their names start with
// presso_transport_ so that they stay apart from the job store's tables in
// the same database.
//
// messages holds each published message once. deliveries holds one row
// per message and consumer group that has not acked it yet: publishing
// creates them for the groups listed in groups, and an ack deletes one.
const (
	tableMessages   = "presso_transport_messages"
	tableDeliveries = "presso_transport_deliveries"
	tableGroups     = "presso_transport_groups"
)

// schemaLockID is the advisory lock key that serializes schema creation,
// because concurrent CREATE TABLE IF NOT EXISTS statements can fail on the
// catalog's unique index. The value is arbitrary but fixed.
const schemaLockID = 0x70726573 // "pres"

var schemaStatements = []string{
	`CREATE TABLE IF NOT EXISTS ` + tableMessages + ` (
		"offset"   BIGSERIAL PRIMARY KEY,
		topic      TEXT NOT NULL,
		uuid       TEXT NOT NULL,
		payload    BYTEA,
		metadata   JSONB,
		created_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`,
	`CREATE INDEX IF NOT EXISTS ` + tableMessages + `_topic ON ` + tableMessages + ` (topic, "offset")`,
	`CREATE INDEX IF NOT EXISTS ` + tableMessages + `_created ON ` + tableMessages + ` (created_at)`,
	`CREATE TABLE IF NOT EXISTS ` + tableDeliveries + ` (
		topic          TEXT NOT NULL,
		consumer_group TEXT NOT NULL,
		"offset"       BIGINT NOT NULL,
		PRIMARY KEY (topic, consumer_group, "offset")
	)`,
	`CREATE INDEX IF NOT EXISTS ` + tableDeliveries + `_offset ON ` + tableDeliveries + ` ("offset")`,
	`CREATE TABLE IF NOT EXISTS ` + tableGroups + ` (
		topic          TEXT NOT NULL,
		consumer_group TEXT NOT NULL,
		-- ephemeral groups belong to one process and are dropped when it
		-- stops or stops sending heartbeats
		ephemeral      BOOLEAN NOT NULL DEFAULT FALSE,
		seen_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
		PRIMARY KEY (topic, consumer_group)
	)`,
}

// createSchema creates the tables when they are missing. It checks first
// because CREATE INDEX IF NOT EXISTS takes a SHARE lock on its table even
// when the index exists, which deadlocks with running publishes. The
// statements run in one transaction, so the last table existing means that
// everything exists.
func createSchema(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(`+fmt.Sprint(schemaLockID)+`)`); err != nil {
			return fmt.Errorf("lock the transport schema: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('`+tableGroups+`') IS NOT NULL`).Scan(&exists); err != nil {
			return fmt.Errorf("look up the transport tables: %w", err)
		}
		if exists {
			return nil
		}
		for _, statement := range schemaStatements {
			if _, err := tx.Exec(ctx, statement); err != nil {
				return fmt.Errorf("create the transport tables: %w", err)
			}
		}
		return nil
	})
}

// queueSchema is the watermill-sql SchemaAdapter of the delivery rows.
type queueSchema struct{}

var _ wsql.SchemaAdapter = queueSchema{}

// InsertQuery stores the messages and, in the same statement, creates
// their delivery rows for the groups registered on the topic. A group that
// registers meanwhile locks the messages table first (see register), so
// either the statement reads the new group or the group's backfill covers
// the message.
func (queueSchema) InsertQuery(params wsql.InsertQueryParams) (wsql.Query, error) {
	if len(params.Msgs) == 0 {
		// watermill-sql runs the query even for an empty Publish call.
		return wsql.Query{Query: `SELECT 1`}, nil
	}
	args := []any{params.Topic}
	rows := make([]string, 0, len(params.Msgs))
	for _, msg := range params.Msgs {
		metadata, err := json.Marshal(msg.Metadata)
		if err != nil {
			return wsql.Query{}, fmt.Errorf("encode metadata of message %s: %w", msg.UUID, err)
		}
		n := len(args)
		rows = append(rows, fmt.Sprintf("($1, $%d, $%d, $%d::text::jsonb)", n+1, n+2, n+3))
		args = append(args, msg.UUID, []byte(msg.Payload), string(metadata))
	}

	query := `WITH inserted AS (
		INSERT INTO ` + tableMessages + ` (topic, uuid, payload, metadata)
		VALUES ` + strings.Join(rows, ", ") + `
		RETURNING "offset"
	)
	INSERT INTO ` + tableDeliveries + ` (topic, consumer_group, "offset")
	SELECT $1, g.consumer_group, i."offset"
	FROM inserted i CROSS JOIN ` + tableGroups + ` g
	WHERE g.topic = $1`
	return wsql.Query{Query: query, Args: args}, nil
}

// SelectQuery claims the oldest delivery row of the group that no other
// consumer holds. The row lock lasts until the subscriber's transaction
// ends, that is until the handler acks, nacks or runs out of time.
func (queueSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	query := `SELECT d."offset", m.uuid, m.payload, m.metadata::text
	FROM ` + tableDeliveries + ` d
	JOIN ` + tableMessages + ` m ON m."offset" = d."offset"
	WHERE d.topic = $1 AND d.consumer_group = $2
	ORDER BY d."offset"
	LIMIT 1
	FOR UPDATE OF d SKIP LOCKED`
	return wsql.Query{Query: query, Args: []any{params.Topic, params.ConsumerGroup}}, nil
}

func (queueSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var row wsql.Row
	var metadata *string
	if err := params.Row.Scan(&row.Offset, &row.UUID, &row.Payload, &metadata); err != nil {
		return wsql.Row{}, fmt.Errorf("read message row: %w", err)
	}

	msg := message.NewMessage(string(row.UUID), row.Payload)
	if metadata != nil {
		if err := json.Unmarshal([]byte(*metadata), &msg.Metadata); err != nil {
			return wsql.Row{}, fmt.Errorf("decode metadata of message %s: %w", row.UUID, err)
		}
	}
	row.Msg = msg
	return row, nil
}

// SchemaInitializingQueries is empty: New creates the schema once, so that
// watermill-sql does not run CREATE statements on every subscribe.
func (queueSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// SubscribeIsolationLevel is READ COMMITTED because SKIP LOCKED must see
// rows that other consumers deleted after this transaction began: under
// REPEATABLE READ, locking such a row fails with a serialization error.
func (queueSchema) SubscribeIsolationLevel() stdsql.IsolationLevel {
	return stdsql.LevelReadCommitted
}

// queueOffsets is the watermill-sql OffsetsAdapter of the delivery rows:
// an ack deletes them, and there is no offset to keep.
type queueOffsets struct{}

var _ wsql.OffsetsAdapter = queueOffsets{}

func (queueOffsets) AckMessageQuery(params wsql.AckMessageQueryParams) (wsql.Query, error) {
	// The subscriber passes the whole batch but stops at its first message
	// that is not acked, so only the rows up to LastRow were acked.
	offsets := make([]int64, 0, len(params.Rows))
	for _, row := range params.Rows {
		if row.Offset <= params.LastRow.Offset {
			offsets = append(offsets, row.Offset)
		}
	}
	query := `DELETE FROM ` + tableDeliveries + `
	WHERE topic = $1 AND consumer_group = $2 AND "offset" = ANY($3)`
	return wsql.Query{Query: query, Args: []any{params.Topic, params.ConsumerGroup, offsets}}, nil
}

func (queueOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (queueOffsets) NextOffsetQuery(wsql.NextOffsetQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (queueOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// BeforeSubscribingQueries is empty because the transport registers the
// group itself (see register), in a transaction that needs a table lock.
func (queueOffsets) BeforeSubscribingQueries(wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

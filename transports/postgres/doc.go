// Package postgres is the PostgreSQL transport: the pipeline's messages are
// rows, published and consumed with Watermill's SQL Pub/Sub (watermill-sql)
// over pgx, so that queued jobs survive a restart and several worker
// processes share one queue without a broker.
//
// watermill-sql's stock PostgreSQL adapters keep one offset per consumer
// group and lock it while a message is handled, so a group handles one
// message at a time however many workers it has. This package plugs in its
// own adapters instead. Publishing creates a delivery row for the message
// and each group of its topic. A consumer claims a delivery row with FOR
// UPDATE SKIP LOCKED, in a transaction that lasts until its handler acks,
// and the ack deletes the row. Consumers of one group
// therefore work in parallel and never get the same message at once, while
// each group still gets every message. The price is ordering: messages of
// one group may be handled out of publish order.
//
// It creates its three tables at start (see schema.go). It was tested with
// PostgreSQL 15; FOR UPDATE SKIP LOCKED needs 9.5 or later.
package postgres

package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/presso-dev/presso/engine"
)

// nackResendInterval is the pause before a nacked message is handed out
// again. The engine nacks only when its retries and the poison queue have
// failed, so a quick loop would only repeat the same failure.
const nackResendInterval = time.Second

// registration is one consumer group of one topic.
type registration struct {
	topic string
	group string
}

// subscriber is a message.Subscriber for one consumer group. Each Subscribe
// runs Config.Consumers watermill-sql consumers of the topic, on a pool of
// as many connections, and merges their messages into one channel.
type subscriber struct {
	transport *Transport
	group     string

	mu        sync.Mutex
	closed    bool
	closing   chan struct{}
	inners    []*wsql.Subscriber
	pools     []*pgxpool.Pool
	forwarded sync.WaitGroup
}

var _ message.Subscriber = (*subscriber)(nil)

// Subscribe registers the group on topic and returns its messages. Every
// message committed after Subscribe returns is delivered to the group. A
// durable group that subscribes for the first time also gets the messages
// still retained from before.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	t := s.transport
	if err := t.register(ctx, topic, s.group); err != nil {
		return nil, err
	}

	poolConfig := t.poolConfig.Copy()
	poolConfig.MaxConns = int32(t.cfg.Consumers)
	pool, err := pgxpool.NewWithConfig(context.Background(), poolConfig)
	if err != nil {
		return nil, fmt.Errorf("create PostgreSQL pool for topic %s: %w", topic, err)
	}
	ackDeadline := t.cfg.AckDeadline
	inner, err := wsql.NewSubscriber(wsql.BeginnerFromPgx(pool), wsql.SubscriberConfig{
		ConsumerGroup:  s.group,
		AckDeadline:    &ackDeadline,
		PollInterval:   t.cfg.PollInterval,
		ResendInterval: nackResendInterval,
		SchemaAdapter:  queueSchema{},
		OffsetsAdapter: queueOffsets{},
	}, t.wlogger.With(map[string]any{"topic": topic, "consumer_group": s.group}))
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("create subscriber for topic %s: %w", topic, err)
	}
	s.inners = append(s.inners, inner)
	s.pools = append(s.pools, pool)

	out := make(chan *message.Message)
	var feeds sync.WaitGroup
	for range t.cfg.Consumers {
		// Each Subscribe call on the inner subscriber starts one consumer
		// loop, which holds one message at a time.
		messages, err := inner.Subscribe(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("subscribe to topic %s: %w", topic, err)
		}
		feeds.Add(1)
		s.forwarded.Add(1)
		go func() {
			defer feeds.Done()
			defer s.forwarded.Done()
			s.forward(messages, out)
		}()
	}
	go func() {
		feeds.Wait()
		close(out)
	}()
	return out, nil
}

// forward passes messages on until the inner channel closes. A message it
// cannot pass on because the subscriber is closing is never acked, so the
// inner consumer rolls it back for another subscriber.
func (s *subscriber) forward(in <-chan *message.Message, out chan<- *message.Message) {
	for msg := range in {
		select {
		case out <- msg:
		case <-s.closing:
		}
	}
}

// Close stops the consumers of every topic and closes their pools.
// Messages still held by handlers lose their context and are handed out
// again to the other subscribers of the group.
func (s *subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	inners, pools := s.inners, s.pools
	s.mu.Unlock()

	var errs []error
	for _, inner := range inners {
		errs = append(errs, inner.Close())
	}
	s.forwarded.Wait()
	for _, pool := range pools {
		pool.Close()
	}
	return errors.Join(errs...)
}

// register records the group on topic, so that publishing creates its
// delivery rows from now on, and gives a new durable group a delivery row
// for every message still retained.
//
// The SHARE lock on the messages table waits for the publishes in progress
// and holds new ones until the transaction commits. Without it, a publish
// that started before the group existed could commit after the backfill
// had looked, and the group would never see that message.
func (t *Transport) register(ctx context.Context, topic, group string) error {
	ephemeral := strings.HasPrefix(group, engine.GroupAPIPrefix)
	var created bool
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+tableMessages+` IN SHARE MODE`); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO `+tableGroups+` (topic, consumer_group, ephemeral)
			VALUES ($1, $2, $3)
			ON CONFLICT (topic, consumer_group) DO UPDATE SET seen_at = now()
			RETURNING xmax = 0`, topic, group, ephemeral).Scan(&created)
		if err != nil || !created || ephemeral {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO `+tableDeliveries+` (topic, consumer_group, "offset")
			SELECT topic, $2, "offset" FROM `+tableMessages+` WHERE topic = $1
			ON CONFLICT DO NOTHING`, topic, group)
		return err
	})
	if err != nil {
		return fmt.Errorf("register consumer group %s on topic %s: %w", group, topic, err)
	}

	if ephemeral {
		t.mu.Lock()
		t.ephemeral[registration{topic: topic, group: group}] = struct{}{}
		t.mu.Unlock()
	}
	if created {
		t.logger.Info("consumer group registered", "topic", topic, "group", group, "ephemeral", ephemeral)
	}
	return nil
}

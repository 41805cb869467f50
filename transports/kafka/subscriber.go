package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/presso-dev/presso/engine"
)

// ackGrace is how long Close waits after the latest ack before it stops
// the consumers. watermill-kafka v3.0.6 commits an acked offset in the
// goroutine that waits for the ack. That goroutine also watches for Close,
// and Go picks at random when both are ready, so an ack followed at once by
// Close can skip the commit and the message is delivered again. The wait
// lets that goroutine see the ack first.
//
// NOTE: this narrows the race and does not close it: on a machine stalled
// for longer than ackGrace, an acked message can still be delivered again.
const ackGrace = 200 * time.Millisecond

// subscribeTimeout bounds how long Subscribe waits for the group to hand
// this member its partitions. The group waits up to sarama's default
// rebalance timeout (60 s) for its members to rejoin, and the join itself
// needs a margin on top.
const subscribeTimeout = 90 * time.Second

// subscriber is a message.Subscriber for one consumer group. Each Subscribe
// starts a watermill-kafka subscriber of its own, so that it can wait for
// that topic's partitions.
type subscriber struct {
	transport  *Transport
	group      string
	kafkaGroup string

	mu        sync.Mutex
	closed    bool
	closing   chan struct{}
	inners    []*wkafka.Subscriber
	forwarded sync.WaitGroup
	// lastAck is the Unix time in nanoseconds of the latest ack.
	lastAck atomic.Int64
}

var _ message.Subscriber = (*subscriber)(nil)

func newSubscriber(t *Transport, group string) *subscriber {
	return &subscriber{transport: t, group: group, kafkaGroup: t.kafkaGroup(group), closing: make(chan struct{})}
}

// Subscribe joins the group on topic and returns once this member has its
// partitions and each partition's starting offset is fixed.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || s.transport.isClosed() {
		return nil, ErrClosed
	}
	t := s.transport
	name := t.kafkaTopic(topic)
	if err := t.ensureTopic(name); err != nil {
		return nil, err
	}

	sc := *t.sarama
	if strings.HasPrefix(s.group, engine.GroupAPIPrefix) {
		sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	ready := &readiness{done: make(chan struct{})}
	inner, err := wkafka.NewSubscriber(wkafka.SubscriberConfig{
		Brokers:               t.cfg.Brokers,
		Unmarshaler:           wkafka.DefaultMarshaler{},
		OverwriteSaramaConfig: &sc,
		ConsumerGroup:         s.kafkaGroup,
		Tracer:                ready,
	}, t.wlogger)
	if err != nil {
		return nil, fmt.Errorf("create Kafka consumer for topic %s: %w", name, err)
	}
	in, err := inner.Subscribe(ctx, name)
	if err != nil {
		inner.Close()
		return nil, fmt.Errorf("subscribe to Kafka topic %s in group %s: %w", name, s.kafkaGroup, err)
	}

	// The lock is not held while waiting, so that Close can interrupt.
	select {
	case <-ready.done:
	case <-s.closing:
		inner.Close()
		return nil, ErrClosed
	case <-ctx.Done():
		inner.Close()
		return nil, ctx.Err()
	case <-time.After(subscribeTimeout):
		inner.Close()
		return nil, fmt.Errorf("joining group %s timed out: it gave this member no partitions of %s within %s", s.kafkaGroup, name, subscribeTimeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		inner.Close()
		return nil, ErrClosed
	}
	s.inners = append(s.inners, inner)

	out := make(chan *message.Message)
	s.forwarded.Add(1)
	go func() {
		defer s.forwarded.Done()
		defer close(out)
		s.forward(in, out)
	}()
	t.logger.Info("subscribed", "topic", name, "group", s.kafkaGroup)
	return out, nil
}

// forward passes messages on and records when each is acked. A message it
// cannot pass on because the subscriber is closing is never acked, so its
// offset is not committed and the group delivers it again.
func (s *subscriber) forward(in <-chan *message.Message, out chan<- *message.Message) {
	for msg := range in {
		// The router replaces the message's context once it has the
		// message, so the context is read before handing it over.
		go s.watchAck(msg.Context(), msg)
		select {
		case out <- msg:
		case <-s.closing:
		}
	}
}

func (s *subscriber) watchAck(ctx context.Context, msg *message.Message) {
	select {
	case <-msg.Acked():
		s.lastAck.Store(time.Now().UnixNano())
	case <-msg.Nacked():
	case <-ctx.Done():
	}
}

// Close leaves the group on every topic. Messages still held by handlers
// lose their context and are not committed, so the group delivers them
// again to another member.
func (s *subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	inners := s.inners
	s.mu.Unlock()

	if wait := ackGrace - time.Since(time.Unix(0, s.lastAck.Load())); wait > 0 {
		time.Sleep(wait)
	}
	var errs []error
	for _, inner := range inners {
		errs = append(errs, inner.Close())
	}
	s.forwarded.Wait()
	return errors.Join(errs...)
}

// readiness is a watermill-kafka tracer used for its hook on the group
// handler: it reports when the first session of the group has started
// consuming every partition given to this member. sarama fixes a
// partition's starting offset before it calls ConsumeClaim, so from then
// on no newly published message can be skipped.
type readiness struct {
	once    sync.Once
	done    chan struct{}
	pending atomic.Int64
}

var _ wkafka.SaramaTracer = (*readiness)(nil)

func (r *readiness) WrapConsumerGroupHandler(h sarama.ConsumerGroupHandler) sarama.ConsumerGroupHandler {
	return readyHandler{ConsumerGroupHandler: h, readiness: r}
}

func (r *readiness) WrapConsumer(c sarama.Consumer) sarama.Consumer { return c }

func (r *readiness) WrapPartitionConsumer(c sarama.PartitionConsumer) sarama.PartitionConsumer {
	return c
}

func (r *readiness) WrapSyncProducer(_ *sarama.Config, p sarama.SyncProducer) sarama.SyncProducer {
	return p
}

func (r *readiness) claimStarted() {
	if r.pending.Add(-1) <= 0 {
		r.once.Do(func() { close(r.done) })
	}
}

type readyHandler struct {
	sarama.ConsumerGroupHandler
	readiness *readiness
}

func (h readyHandler) Setup(session sarama.ConsumerGroupSession) error {
	claims := 0
	for _, partitions := range session.Claims() {
		claims += len(partitions)
	}
	h.readiness.pending.Store(int64(claims))
	if claims == 0 {
		// More members than partitions: this one waits as a spare.
		h.readiness.once.Do(func() { close(h.readiness.done) })
	}
	return h.ConsumerGroupHandler.Setup(session)
}

func (h readyHandler) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	h.readiness.claimStarted()
	return h.ConsumerGroupHandler.ConsumeClaim(session, claim)
}

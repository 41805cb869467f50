package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.Transports.Register("kafka", New)
}

// ErrClosed is returned by Publish, Subscribe and Subscriber after Close.
var ErrClosed = errors.New("kafka transport is closed")

// engineTopics are created at start, so that a worker that starts before
// any API process finds its topics.
var engineTopics = []string{engine.TopicRender, engine.TopicRenderInteractive, engine.TopicResults, engine.TopicNotify, engine.TopicPoison}

// Transport publishes and consumes through Kafka.
type Transport struct {
	cfg     Config
	sarama  *sarama.Config
	logger  *slog.Logger
	wlogger watermill.LoggerAdapter

	admin     sarama.ClusterAdmin
	publisher *publisher
	// topics holds the Kafka topics known to exist.
	topics sync.Map

	mu          sync.Mutex
	closed      bool
	subscribers []*subscriber
}

var _ engine.Transport = (*Transport)(nil)

// New builds the transport from the settings under transport.kafka.
func New(deps engine.Deps) (engine.Transport, error) {
	var cfg Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("transport.kafka", &cfg); err != nil {
			return nil, err
		}
	}
	return NewWithConfig(cfg, deps.Logger)
}

// NewWithConfig connects to the brokers, creates the engine's topics that
// are missing, and starts a producer.
func NewWithConfig(cfg Config, logger *slog.Logger) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "transport", "transport", "kafka")
	sc, err := saramaConfig(cfg)
	if err != nil {
		return nil, err
	}

	admin, err := sarama.NewClusterAdmin(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to Kafka brokers %v: %w", cfg.Brokers, err)
	}
	t := &Transport{cfg: cfg, sarama: sc, logger: logger, wlogger: watermill.NewSlogLogger(logger), admin: admin}
	for _, topic := range engineTopics {
		if err := t.ensureTopic(t.kafkaTopic(topic)); err != nil {
			admin.Close()
			return nil, err
		}
	}

	inner, err := wkafka.NewPublisher(wkafka.PublisherConfig{
		Brokers:               cfg.Brokers,
		Marshaler:             wkafka.NewWithPartitioningMarshaler(partitionKey),
		OverwriteSaramaConfig: sc,
	}, t.wlogger)
	if err != nil {
		admin.Close()
		return nil, fmt.Errorf("create Kafka producer: %w", err)
	}
	t.publisher = &publisher{transport: t, inner: inner}

	logger.Info("transport connected", "brokers", cfg.Brokers, "topicPrefix", cfg.TopicPrefix,
		"consumerGroup", cfg.ConsumerGroup, "clientVersion", cfg.ClientVersion,
		"tls", cfg.TLS.Enabled, "saslMechanism", cfg.SASL.Mechanism)
	return t, nil
}

// partitionKey keys a message by its job id, so that the messages of one
// job stay in order. A message without a job id is keyed by its UUID.
func partitionKey(_ string, msg *message.Message) (string, error) {
	if key := msg.Metadata.Get(engine.MetadataPartitionKey); key != "" {
		return key, nil
	}
	return msg.UUID, nil
}

// kafkaTopic maps an engine topic to its Kafka topic: "presso.render"
// becomes "<prefix>.render", and a name without the "presso." prefix is
// only prefixed.
func (t *Transport) kafkaTopic(topic string) string {
	return t.cfg.TopicPrefix + "." + strings.TrimPrefix(topic, "presso.")
}

// kafkaGroup maps an engine group to its Kafka group: the workers' group
// is the configured consumer_group, and the "presso-" that starts other
// names is replaced by "<prefix>-".
func (t *Transport) kafkaGroup(group string) string {
	if group == engine.GroupWorkers {
		return t.cfg.ConsumerGroup
	}
	return t.cfg.TopicPrefix + "-" + strings.TrimPrefix(group, "presso-")
}

// ensureTopic creates topic with the configured partitions unless it is
// known to exist. A topic that another process created meanwhile counts as
// created.
func (t *Transport) ensureTopic(topic string) error {
	if _, ok := t.topics.Load(topic); ok {
		return nil
	}
	err := t.admin.CreateTopic(topic, &sarama.TopicDetail{
		NumPartitions:     int32(t.cfg.Partitions),
		ReplicationFactor: int16(t.cfg.ReplicationFactor),
	}, false)
	switch {
	case err == nil:
		t.logger.Info("topic created", "topic", topic, "partitions", t.cfg.Partitions, "replicationFactor", t.cfg.ReplicationFactor)
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
	case t.topicExists(topic):
		// A client without the right to create topics can still use the
		// ones an operator created.
	default:
		return fmt.Errorf("create Kafka topic %s (create it yourself, or give Presso's client the right to): %w", topic, err)
	}
	t.topics.Store(topic, struct{}{})
	return nil
}

func (t *Transport) topicExists(topic string) bool {
	metadata, err := t.admin.DescribeTopics([]string{topic})
	return err == nil && len(metadata) == 1 && errors.Is(metadata[0].Err, sarama.ErrNoError)
}

// Publisher returns the producer shared by the whole process. Publish
// returns once every in-sync replica has the message.
func (t *Transport) Publisher() message.Publisher { return t.publisher }

// Subscriber returns a subscriber in group; see the package documentation
// for how the name maps to a Kafka group. Each Subscribe joins the group
// for one topic and returns once the group has given this member its
// partitions, so that no message published afterwards is missed. A group
// that has no committed offsets yet starts at the oldest message, except
// the per-process groups (engine.GroupAPIPrefix), which start at the
// newest, because the results published before they existed belong to
// requests that no process waits for any more.
func (t *Transport) Subscriber(group string) (message.Subscriber, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	s := newSubscriber(t, group)
	t.subscribers = append(t.subscribers, s)
	return s, nil
}

// Close leaves every group, which hands the partitions to the remaining
// members, then closes the producer and the admin connection. It is safe
// to call more than once.
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
	errs = append(errs, t.publisher.Close(), t.admin.Close())
	return errors.Join(errs...)
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// publisher maps topics and creates missing ones before producing.
type publisher struct {
	transport *Transport
	inner     *wkafka.Publisher
	closeOnce sync.Once
	closeErr  error
}

func (p *publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.transport.isClosed() {
		return ErrClosed
	}
	name := p.transport.kafkaTopic(topic)
	if err := p.transport.ensureTopic(name); err != nil {
		return err
	}
	return p.inner.Publish(name, msgs...)
}

func (p *publisher) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.inner.Close() })
	return p.closeErr
}

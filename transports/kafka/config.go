package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"

	"github.com/IBM/sarama"

	"github.com/presso-dev/presso/engine"
)

// Defaults of Config.
const (
	DefaultTopicPrefix       = "presso"
	DefaultConsumerGroup     = engine.GroupWorkers
	DefaultPartitions        = 12
	DefaultReplicationFactor = 1
	// DefaultClientVersion is the baseline that Kafka 4.0 brokers still
	// accept (KIP-896 removed older request versions), so the default
	// works with brokers from Kafka 2.1 to 4.x.
	DefaultClientVersion = "2.1.0"
)

// SASL mechanisms that the transport supports.
const (
	SASLPlain       = "PLAIN"
	SASLSCRAMSHA256 = "SCRAM-SHA-256"
	SASLSCRAMSHA512 = "SCRAM-SHA-512"
)

// Config configures the Kafka transport, under the configuration key
// transport.kafka. A zero field takes its default.
type Config struct {
	// Brokers lists the bootstrap brokers as host:port. Required.
	Brokers []string `koanf:"brokers"`
	// TopicPrefix replaces the engine's "presso" at the start of topic
	// names, and the "presso" of per-process group names, so that several
	// deployments can share a cluster. Default: presso.
	TopicPrefix string `koanf:"topic_prefix"`
	// ConsumerGroup is the Kafka group of the workers. Default:
	// presso-workers.
	ConsumerGroup string `koanf:"consumer_group"`
	// Partitions is the partition count of the topics that Presso creates,
	// and so the largest number of jobs that the workers render at once.
	// Topics that exist already keep theirs. Default: 12.
	Partitions int `koanf:"partitions"`
	// ReplicationFactor is the replica count of the topics that Presso
	// creates. Default: 1; use 3 on a production cluster.
	ReplicationFactor int `koanf:"replication_factor"`
	// ClientVersion is the Kafka protocol version that the client speaks,
	// such as 3.6.0; set it to the brokers' version to use newer protocol
	// features. Default: 2.1.0.
	ClientVersion string `koanf:"client_version"`
	// TLS encrypts the connections to the brokers.
	TLS TLSConfig `koanf:"tls"`
	// SASL authenticates to the brokers.
	SASL SASLConfig `koanf:"sasl"`
}

// TLSConfig configures TLS to the brokers.
type TLSConfig struct {
	// Enabled turns TLS on. Default: false.
	Enabled bool `koanf:"enabled"`
	// CAFile is a PEM file of the CAs that sign the brokers' certificates.
	// Empty: the system's CAs.
	CAFile string `koanf:"ca_file"`
	// CertFile and KeyFile are the PEM client certificate and key, for
	// brokers that require mutual TLS. Set both or neither.
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
	// InsecureSkipVerify accepts any broker certificate. For tests only.
	InsecureSkipVerify bool `koanf:"insecure_skip_verify"`
}

// SASLConfig configures SASL authentication. Authentication is on when
// Mechanism is set.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. Use PLAIN only
	// over TLS, because it sends the password as it is.
	Mechanism string `koanf:"mechanism"`
	Username  string `koanf:"username"`
	// Password is never logged.
	Password string `koanf:"password"`
}

// LogValue keeps the password out of logs that print the configuration.
func (c SASLConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", c.Mechanism), slog.String("username", c.Username))
}

// topicNameChars are the characters Kafka accepts in a topic name.
var topicNameChars = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = DefaultConsumerGroup
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = DefaultReplicationFactor
	}
	if c.ClientVersion == "" {
		c.ClientVersion = DefaultClientVersion
	}

	if len(c.Brokers) == 0 {
		return c, errors.New("transport.kafka.brokers is missing: list the bootstrap brokers as host:port, for example [\"127.0.0.1:9092\"]")
	}
	for _, broker := range c.Brokers {
		if broker == "" || !strings.Contains(broker, ":") {
			return c, fmt.Errorf("transport.kafka.brokers: %q is invalid, want host:port", broker)
		}
	}
	if !topicNameChars.MatchString(c.TopicPrefix) || len(c.TopicPrefix) > 200 {
		return c, fmt.Errorf("transport.kafka.topic_prefix %q is invalid: use up to 200 letters, digits, '.', '_' or '-'", c.TopicPrefix)
	}
	if c.Partitions < 1 || c.Partitions > math.MaxInt32 {
		return c, fmt.Errorf("transport.kafka.partitions must be at least 1, got %d", c.Partitions)
	}
	if c.ReplicationFactor < 1 || c.ReplicationFactor > math.MaxInt16 {
		return c, fmt.Errorf("transport.kafka.replication_factor must be between 1 and %d, got %d", math.MaxInt16, c.ReplicationFactor)
	}
	if _, err := sarama.ParseKafkaVersion(c.ClientVersion); err != nil {
		return c, fmt.Errorf("transport.kafka.client_version %q is invalid: want a Kafka version such as 2.1.0 or 3.6.0", c.ClientVersion)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return c, errors.New("transport.kafka.tls.cert_file and transport.kafka.tls.key_file must be set together")
	}
	switch c.SASL.Mechanism {
	case "":
	case SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512:
		if c.SASL.Username == "" || c.SASL.Password == "" {
			return c, fmt.Errorf("transport.kafka.sasl.username and transport.kafka.sasl.password are required with mechanism %s", c.SASL.Mechanism)
		}
	default:
		return c, fmt.Errorf("transport.kafka.sasl.mechanism %q is not supported: use %s, %s or %s", c.SASL.Mechanism, SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
	}
	return c, nil
}

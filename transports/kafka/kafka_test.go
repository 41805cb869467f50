package kafka

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/transports/transporttest"
)

// brokers are the addresses of an in-process Kafka (kfake) on loopback.
// The tests of this package share it, each with its own topics and groups.
var brokers []string

func TestMain(m *testing.M) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kfake:", err)
		os.Exit(1)
	}
	brokers = cluster.ListenAddrs()
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newTestTransport(t *testing.T, cfg Config) *Transport {
	t.Helper()
	cfg.Brokers = brokers
	tr, err := NewWithConfig(cfg, quietLogger())
	if err != nil {
		t.Fatalf("new transport: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) engine.Transport {
		return newTestTransport(t, Config{})
	}, transporttest.Features{ConsumerGroups: true, Durable: true})
}

func TestWorkersRenderInParallel(t *testing.T) {
	t.Parallel()
	// The workers' group is configured per deployment; a group of its own
	// keeps this test apart from the others on the shared cluster.
	group := "workers-" + strings.ReplaceAll(t.Name(), "/", "-")
	got := transporttest.RunWorkerParallelism(t, func(t *testing.T) engine.Transport {
		return newTestTransport(t, Config{ConsumerGroup: group})
	})
	t.Logf("10 jobs of 300 ms on two workers: %s (serial %s), split %d/%d", got.Elapsed, got.Serial, got.Split[0], got.Split[1])
}

func TestPublishToHandlerLatency(t *testing.T) {
	t.Parallel()
	latencies := transporttest.MeasureLatency(t, func(t *testing.T) engine.Transport {
		return newTestTransport(t, Config{})
	}, 20, 100*time.Millisecond)
	t.Logf("publish to handler on kfake: min %s, median %s, max %s", latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])
}

// roundTrip publishes one message and receives it in a new group.
func roundTrip(t *testing.T, tr *Transport) {
	t.Helper()
	topic := "presso.test-roundtrip-" + watermill.NewShortUUID()
	sub, err := tr.Subscriber("presso-group-" + watermill.NewShortUUID())
	if err != nil {
		t.Fatal(err)
	}
	messages, err := sub.Subscribe(t.Context(), topic)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	sent := message.NewMessage(watermill.NewUUID(), []byte("{}"))
	if err := tr.Publisher().Publish(topic, sent); err != nil {
		t.Fatalf("publish: %v", err)
	}
	select {
	case got := <-messages:
		got.Ack()
		if got.UUID != sent.UUID {
			t.Errorf("received %s, want %s", got.UUID, sent.UUID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message not received within 30s")
	}
}

// sarama before v1.48 broke consumer groups at protocol 2.4 and later
// against kfake; these versions cover both sides of that and Kafka 4.
func TestClientVersions(t *testing.T) {
	for _, version := range []string{"2.1.0", "2.3.0", "2.8.0", "3.6.0", "4.0.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, newTestTransport(t, Config{ClientVersion: version}))
		})
	}
}

func TestSASL(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(SASLPlain, "plain-user", "plain-password"),
		kfake.Superuser(SASLSCRAMSHA256, "scram256-user", "scram256-password"),
		kfake.Superuser(SASLSCRAMSHA512, "scram512-user", "scram512-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)

	for _, c := range []struct{ mechanism, username, password string }{
		{SASLPlain, "plain-user", "plain-password"},
		{SASLSCRAMSHA256, "scram256-user", "scram256-password"},
		{SASLSCRAMSHA512, "scram512-user", "scram512-password"},
	} {
		t.Run(c.mechanism, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Brokers: cluster.ListenAddrs(), SASL: SASLConfig{Mechanism: c.mechanism, Username: c.username, Password: c.password}}
			tr, err := NewWithConfig(cfg, quietLogger())
			if err != nil {
				t.Fatalf("connect with %s: %v", c.mechanism, err)
			}
			t.Cleanup(func() { tr.Close() })
			roundTrip(t, tr)

			cfg.SASL.Password = "wrong-password"
			if tr, err := NewWithConfig(cfg, quietLogger()); err == nil {
				tr.Close()
				t.Errorf("connect with %s and a wrong password succeeded", c.mechanism)
			} else if strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tr := &Transport{cfg: Config{TopicPrefix: "staging", ConsumerGroup: "render-fleet"}}
	cases := []struct{ got, want string }{
		{tr.kafkaTopic(engine.TopicRender), "staging.render"},
		{tr.kafkaTopic(engine.TopicRenderInteractive), "staging.render.interactive"},
		{tr.kafkaTopic(engine.TopicResults), "staging.results"},
		{tr.kafkaTopic("other"), "staging.other"},
		{tr.kafkaGroup(engine.GroupWorkers), "render-fleet"},
		{tr.kafkaGroup(engine.GroupAPIPrefix + "1234"), "staging-api-1234"},
		{tr.kafkaGroup("custom"), "staging-custom"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("name = %q, want %q", c.got, c.want)
		}
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	got, err := Config{Brokers: []string{"127.0.0.1:9092"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.TopicPrefix != DefaultTopicPrefix || got.ConsumerGroup != DefaultConsumerGroup || got.Partitions != DefaultPartitions ||
		got.ReplicationFactor != DefaultReplicationFactor || got.ClientVersion != DefaultClientVersion {
		t.Errorf("defaults = %+v", got)
	}

	valid := []string{"127.0.0.1:9092"}
	cases := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"missing brokers", Config{}, "transport.kafka.brokers"},
		{"broker without port", Config{Brokers: []string{"kafka"}}, "transport.kafka.brokers"},
		{"bad prefix", Config{Brokers: valid, TopicPrefix: "a b"}, "transport.kafka.topic_prefix"},
		{"negative partitions", Config{Brokers: valid, Partitions: -1}, "transport.kafka.partitions"},
		{"negative replication", Config{Brokers: valid, ReplicationFactor: -1}, "transport.kafka.replication_factor"},
		{"bad version", Config{Brokers: valid, ClientVersion: "latest"}, "transport.kafka.client_version"},
		{"cert without key", Config{Brokers: valid, TLS: TLSConfig{CertFile: "cert.pem"}}, "transport.kafka.tls.cert_file"},
		{"unknown mechanism", Config{Brokers: valid, SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"}}, "transport.kafka.sasl.mechanism"},
		{"mechanism without password", Config{Brokers: valid, SASL: SASLConfig{Mechanism: SASLPlain, Username: "u"}}, "transport.kafka.sasl.password"},
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

func TestSASLPasswordNotLogged(t *testing.T) {
	var out strings.Builder
	logger := slog.New(slog.NewTextHandler(&out, nil))
	logger.Info("config", "sasl", SASLConfig{Mechanism: SASLPlain, Username: "user", Password: "hunter2"})
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("log line reveals the password: %s", out.String())
	}
}

type mapConfig map[string]Config

func (m mapConfig) Unmarshal(path string, out any) error {
	if cfg, ok := m[path]; ok {
		*(out.(*Config)) = cfg
	}
	return nil
}

func TestRegistryBuildsTransport(t *testing.T) {
	deps := engine.Deps{Config: mapConfig{"transport.kafka": {Brokers: brokers}}, Logger: quietLogger()}
	tr, err := engine.Transports.New("kafka", deps)
	if err != nil {
		t.Fatalf("build from registry: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	_, err = engine.Transports.New("kafka", engine.Deps{Config: mapConfig{}, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "transport.kafka.brokers") {
		t.Errorf("error without brokers = %v, want one naming transport.kafka.brokers", err)
	}
}

func TestEngineRoundTrip(t *testing.T) {
	t.Parallel()
	transporttest.RunEngineRoundTrip(t, func(t *testing.T) engine.Transport {
		return newTestTransport(t, Config{})
	})
}

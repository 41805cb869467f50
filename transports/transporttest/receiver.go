package transporttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/presso-dev/presso/engine"
)

// metadataProbe marks warm-up messages, which the checks of a test ignore.
const metadataProbe = "transporttest_probe"

// receiver consumes one subscription the way Watermill's router does: each
// message is handled in its own goroutine, so a subscription that hands out
// several messages at once gets them handled at once.
type receiver struct {
	// handle runs for every message and returns whether to ack it.
	handle func(msg *message.Message) bool

	mu       sync.Mutex
	acked    []*message.Message
	received int
	inFlight sync.WaitGroup
	closed   chan struct{}
}

// startReceiver subscribes to topic and handles every message with handle;
// a nil handle acks at once.
func startReceiver(t *testing.T, sub message.Subscriber, topic string, handle func(*message.Message) bool) *receiver {
	t.Helper()
	if handle == nil {
		handle = func(*message.Message) bool { return true }
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	messages, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", topic, err)
	}

	r := &receiver{handle: handle, closed: make(chan struct{})}
	go func() {
		defer close(r.closed)
		for msg := range messages {
			r.inFlight.Add(1)
			go r.process(msg)
		}
		r.inFlight.Wait()
	}()
	return r
}

func (r *receiver) process(msg *message.Message) {
	defer r.inFlight.Done()
	r.mu.Lock()
	r.received++
	r.mu.Unlock()

	if !r.handle(msg) {
		msg.Nack()
		return
	}
	r.mu.Lock()
	r.acked = append(r.acked, msg)
	r.mu.Unlock()
	msg.Ack()
}

// ackedIDs returns the UUIDs of the acked messages that are not probes, in
// the order they were acked.
func (r *receiver) ackedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, msg := range r.acked {
		if msg.Metadata.Get(metadataProbe) == "" {
			ids = append(ids, msg.UUID)
		}
	}
	return ids
}

// ackedMessages returns the acked messages that are not probes.
func (r *receiver) ackedMessages() []*message.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var msgs []*message.Message
	for _, msg := range r.acked {
		if msg.Metadata.Get(metadataProbe) == "" {
			msgs = append(msgs, msg)
		}
	}
	return msgs
}

func (r *receiver) probesAcked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, msg := range r.acked {
		if msg.Metadata.Get(metadataProbe) != "" {
			n++
		}
	}
	return n
}

// uniqueName returns prefix followed by random hex digits, so that tests
// sharing a broker or a database never share a topic or a group.
func uniqueName(prefix string) string {
	raw := make([]byte, 5)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(raw)
}

// newTopic returns a topic name shaped like the engine's.
func newTopic() string { return uniqueName("presso.test-") }

// newMessage returns a message whose partition key and correlation id are
// its UUID, as the engine sets them for a job.
func newMessage(payload string) *message.Message {
	msg := message.NewMessage(watermill.NewUUID(), []byte(payload))
	msg.Metadata.Set(engine.MetadataPartitionKey, msg.UUID)
	middleware.SetCorrelationID(msg.UUID, msg)
	return msg
}

// publishN publishes n messages one by one and returns their UUIDs.
func publishN(t *testing.T, pub message.Publisher, topic string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		msg := newMessage(fmt.Sprintf("message %d", i))
		if err := pub.Publish(topic, msg); err != nil {
			t.Fatalf("publish message %d on %s: %v", i, topic, err)
		}
		ids = append(ids, msg.UUID)
	}
	return ids
}

// waitUntil polls cond every 20 ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// warmUp publishes probes until every receiver has acked one. A subscriber
// of a Kafka group gets its partitions some time after Subscribe returns,
// and a test that measures the split must not start before that.
func warmUp(t *testing.T, pub message.Publisher, topic string, receivers ...*receiver) {
	t.Helper()
	ready := func() bool {
		for _, r := range receivers {
			if r.probesAcked() == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(deliveryTimeout)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("warm-up: not every subscriber of %s received a probe within %s", topic, deliveryTimeout)
		}
		probe := newMessage("probe")
		probe.Metadata.Set(metadataProbe, "1")
		if err := pub.Publish(topic, probe); err != nil {
			t.Fatalf("publish probe on %s: %v", topic, err)
		}
		waitUntil(200*time.Millisecond, ready)
	}
}

// countDuplicates returns the UUIDs that occur more than once in ids.
func countDuplicates(ids []string) []string {
	seen := map[string]int{}
	var dups []string
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			dups = append(dups, id)
		}
	}
	return dups
}

// missing returns the elements of want that are not in got.
func missing(want, got []string) []string {
	have := map[string]bool{}
	for _, id := range got {
		have[id] = true
	}
	var out []string
	for _, id := range want {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

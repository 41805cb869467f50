package transporttest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/presso-dev/presso/engine"
)

// Features names what a transport's backend can do; the suite skips the
// checks that a missing feature makes meaningless.
type Features struct {
	// ConsumerGroups is true when subscribers that share a group split the
	// messages of a topic. False for GoChannel, where every subscriber of
	// a topic gets every message.
	ConsumerGroups bool
	// Durable is true when messages outlive the process. A message
	// published before its group's first Subscribe is delivered, and an
	// acked message stays acked across a restart. A message that was
	// handed out but not acked when a transport closed goes to another
	// subscriber.
	// Durable transports share their backend between the transports that
	// the factory returns; the suite uses several to stand for processes.
	Durable bool
}

// Factory returns a new transport. For a durable backend, every transport
// it returns must reach the same broker or database. The suite closes what
// it gets; the factory may also register a cleanup that closes it again.
type Factory func(t *testing.T) engine.Transport

const (
	// deliveryTimeout bounds every wait for a message. It is long because
	// a Kafka consumer group may need several heartbeats to rebalance.
	deliveryTimeout = 30 * time.Second
	// quietPeriod is how long a check waits to see that no further
	// message, such as a duplicate, arrives.
	quietPeriod = time.Second
)

// Run runs the conformance suite. Each case uses its own topics and
// groups and runs in parallel with the others.
func Run(t *testing.T, factory Factory, features Features) {
	cases := []struct {
		name string
		run  func(t *testing.T, factory Factory)
		skip string
	}{
		{"PublishSubscribe", testPublishSubscribe, ""},
		{"MetadataSurvives", testMetadataSurvives, ""},
		{"GroupsEachGetEveryMessage", testGroupsBroadcast, ""},
		{"NackRedelivers", testNackRedelivers, ""},
		{"GroupSplitsMessages", testGroupSplits, unless(features.ConsumerGroups, "the backend has no consumer groups")},
		{"PublishedBeforeSubscribe", testPublishedBeforeSubscribe, unless(features.Durable, "the backend is not durable")},
		{"AckedNotRedeliveredAfterRestart", testAckedNotRedelivered, unless(features.Durable, "the backend is not durable")},
		{"CloseReleasesUnackedMessage", testCloseReleasesUnacked, unless(features.Durable && features.ConsumerGroups, "the backend is not durable or has no consumer groups")},
		{"CloseEndsSubscriptions", testCloseEndsSubscriptions, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			t.Parallel()
			c.run(t, factory)
		})
	}
}

func unless(ok bool, reason string) string {
	if ok {
		return ""
	}
	return reason
}

// open returns a transport that is closed when the test ends.
func open(t *testing.T, factory Factory) engine.Transport {
	t.Helper()
	tr := factory(t)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func subscriber(t *testing.T, tr engine.Transport, group string) message.Subscriber {
	t.Helper()
	sub, err := tr.Subscriber(group)
	if err != nil {
		t.Fatalf("subscriber for group %s: %v", group, err)
	}
	return sub
}

func testPublishSubscribe(t *testing.T, factory Factory) {
	tr := open(t, factory)
	topic := newTopic()
	r := startReceiver(t, subscriber(t, tr, uniqueName("group-")), topic, nil)

	if err := tr.Publisher().Publish(topic); err != nil {
		t.Errorf("publish of no message: %v", err)
	}
	want := publishN(t, tr.Publisher(), topic, 5)

	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) >= len(want) }) {
		t.Fatalf("received %d of %d messages within %s", len(r.ackedIDs()), len(want), deliveryTimeout)
	}
	time.Sleep(quietPeriod)
	got := r.ackedIDs()
	if lost := missing(want, got); len(lost) > 0 {
		t.Errorf("messages never delivered: %v", lost)
	}
	if dups := countDuplicates(got); len(dups) > 0 {
		t.Errorf("messages delivered twice to one group: %v", dups)
	}
}

func testMetadataSurvives(t *testing.T, factory Factory) {
	tr := open(t, factory)
	topic := newTopic()
	r := startReceiver(t, subscriber(t, tr, uniqueName("group-")), topic, nil)

	sent := message.NewMessage(watermill.NewUUID(), []byte(`{"jobId":"job-1"}`))
	sent.Metadata.Set(engine.MetadataPartitionKey, "job-1")
	middleware.SetCorrelationID("job-1", sent)
	sent.Metadata.Set("x-custom", "value with spaces, commas and ünïcode")
	if err := tr.Publisher().Publish(topic, sent); err != nil {
		t.Fatalf("publish: %v", err)
	}

	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedMessages()) > 0 }) {
		t.Fatalf("message not delivered within %s", deliveryTimeout)
	}
	got := r.ackedMessages()[0]
	if got.UUID != sent.UUID {
		t.Errorf("UUID = %q, want %q", got.UUID, sent.UUID)
	}
	if !bytes.Equal(got.Payload, sent.Payload) {
		t.Errorf("payload = %q, want %q", got.Payload, sent.Payload)
	}
	if key := got.Metadata.Get(engine.MetadataPartitionKey); key != "job-1" {
		t.Errorf("partition key = %q, want job-1", key)
	}
	if id := middleware.MessageCorrelationID(got); id != "job-1" {
		t.Errorf("correlation id = %q, want job-1", id)
	}
	if custom := got.Metadata.Get("x-custom"); custom != sent.Metadata.Get("x-custom") {
		t.Errorf("metadata x-custom = %q, want %q", custom, sent.Metadata.Get("x-custom"))
	}
}

func testGroupsBroadcast(t *testing.T, factory Factory) {
	tr := open(t, factory)
	topic := newTopic()
	first := startReceiver(t, subscriber(t, tr, uniqueName("group-a-")), topic, nil)
	second := startReceiver(t, subscriber(t, tr, uniqueName("group-b-")), topic, nil)

	want := publishN(t, tr.Publisher(), topic, 5)

	for name, r := range map[string]*receiver{"first group": first, "second group": second} {
		if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) >= len(want) }) {
			t.Errorf("%s received %d of %d messages within %s", name, len(r.ackedIDs()), len(want), deliveryTimeout)
			continue
		}
		if lost := missing(want, r.ackedIDs()); len(lost) > 0 {
			t.Errorf("%s never received %v", name, lost)
		}
	}
}

func testNackRedelivers(t *testing.T, factory Factory) {
	tr := open(t, factory)
	topic := newTopic()
	attempts := make(chan string, 10)
	r := startReceiver(t, subscriber(t, tr, uniqueName("group-")), topic, func(msg *message.Message) bool {
		attempts <- msg.UUID
		return len(attempts) > 1
	})

	want := publishN(t, tr.Publisher(), topic, 1)

	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) > 0 }) {
		t.Fatalf("nacked message not redelivered within %s (%d attempts)", deliveryTimeout, len(attempts))
	}
	if got := r.ackedIDs()[0]; got != want[0] {
		t.Errorf("redelivered UUID = %q, want %q", got, want[0])
	}
	if n := len(attempts); n < 2 {
		t.Errorf("attempts = %d, want at least 2", n)
	}
}

func testGroupSplits(t *testing.T, factory Factory) {
	publisher := open(t, factory)
	group := uniqueName("group-")
	topic := newTopic()
	// Each handler takes a moment, as a render does, so that a subscriber
	// that polls first cannot take every message before the other one.
	slow := func(*message.Message) bool { time.Sleep(50 * time.Millisecond); return true }
	first := startReceiver(t, subscriber(t, open(t, factory), group), topic, slow)
	second := startReceiver(t, subscriber(t, open(t, factory), group), topic, slow)
	warmUp(t, publisher.Publisher(), topic, first, second)

	want := publishN(t, publisher.Publisher(), topic, 20)

	all := func() []string { return append(first.ackedIDs(), second.ackedIDs()...) }
	if !waitUntil(deliveryTimeout, func() bool { return len(all()) >= len(want) }) {
		t.Fatalf("group received %d of %d messages within %s", len(all()), len(want), deliveryTimeout)
	}
	time.Sleep(quietPeriod)
	if lost := missing(want, all()); len(lost) > 0 {
		t.Errorf("messages never delivered: %v", lost)
	}
	if dups := countDuplicates(all()); len(dups) > 0 {
		t.Errorf("messages delivered twice within one group: %v", dups)
	}
	if len(first.ackedIDs()) == 0 || len(second.ackedIDs()) == 0 {
		t.Errorf("split = %d/%d, want both subscribers to get messages", len(first.ackedIDs()), len(second.ackedIDs()))
	}
}

func testPublishedBeforeSubscribe(t *testing.T, factory Factory) {
	tr := open(t, factory)
	topic := newTopic()
	want := publishN(t, tr.Publisher(), topic, 3)

	r := startReceiver(t, subscriber(t, open(t, factory), uniqueName("group-")), topic, nil)

	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) >= len(want) }) {
		t.Fatalf("received %d of %d messages published before the first subscribe", len(r.ackedIDs()), len(want))
	}
	if lost := missing(want, r.ackedIDs()); len(lost) > 0 {
		t.Errorf("messages never delivered: %v", lost)
	}
}

func testAckedNotRedelivered(t *testing.T, factory Factory) {
	publisher := open(t, factory)
	topic := newTopic()
	group := uniqueName("group-")
	before := open(t, factory)
	r := startReceiver(t, subscriber(t, before, group), topic, nil)
	acked := publishN(t, publisher.Publisher(), topic, 3)
	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) >= len(acked) }) {
		t.Fatalf("first process received %d of %d messages", len(r.ackedIDs()), len(acked))
	}
	if err := before.Close(); err != nil {
		t.Fatalf("close first process: %v", err)
	}

	after := startReceiver(t, subscriber(t, open(t, factory), group), topic, nil)
	fresh := publishN(t, publisher.Publisher(), topic, 1)

	if !waitUntil(deliveryTimeout, func() bool { return slices.Contains(after.ackedIDs(), fresh[0]) }) {
		t.Fatalf("restarted subscriber did not receive the new message within %s", deliveryTimeout)
	}
	time.Sleep(quietPeriod)
	for _, id := range after.ackedIDs() {
		if slices.Contains(acked, id) {
			t.Errorf("message %s was acked before the restart and delivered again", id)
		}
	}
}

func testCloseReleasesUnacked(t *testing.T, factory Factory) {
	publisher := open(t, factory)
	topic := newTopic()
	group := uniqueName("group-")
	holder := open(t, factory)
	delivered := make(chan string, 1)
	startReceiver(t, subscriber(t, holder, group), topic, func(msg *message.Message) bool {
		select {
		case delivered <- msg.UUID:
		default:
		}
		<-msg.Context().Done()
		return false
	})
	want := publishN(t, publisher.Publisher(), topic, 1)
	select {
	case <-delivered:
	case <-time.After(deliveryTimeout):
		t.Fatalf("message not delivered within %s", deliveryTimeout)
	}

	closed := make(chan error, 1)
	go func() { closed <- holder.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close with a message in flight: %v", err)
		}
	case <-time.After(deliveryTimeout):
		t.Fatalf("close did not return within %s while a handler held a message", deliveryTimeout)
	}

	next := startReceiver(t, subscriber(t, open(t, factory), group), topic, nil)
	if !waitUntil(deliveryTimeout, func() bool { return slices.Contains(next.ackedIDs(), want[0]) }) {
		t.Fatalf("message held at close was not delivered to the next subscriber within %s", deliveryTimeout)
	}
}

func testCloseEndsSubscriptions(t *testing.T, factory Factory) {
	tr := factory(t)
	topic := newTopic()
	r := startReceiver(t, subscriber(t, tr, uniqueName("group-")), topic, nil)
	publishN(t, tr.Publisher(), topic, 1)
	if !waitUntil(deliveryTimeout, func() bool { return len(r.ackedIDs()) > 0 }) {
		t.Fatalf("message not delivered within %s", deliveryTimeout)
	}

	if err := tr.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	select {
	case <-r.closed:
	case <-time.After(deliveryTimeout):
		t.Fatalf("subscription channel still open %s after Close", deliveryTimeout)
	}
	if err := tr.Publisher().Publish(topic, newMessage("late")); err == nil {
		t.Error("publish after Close succeeded, want an error")
	}
	if sub, err := tr.Subscriber(uniqueName("group-")); err == nil {
		if _, err := sub.Subscribe(context.Background(), topic); err == nil {
			t.Error("subscribe after Close succeeded, want an error")
		}
	}
	if err := tr.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

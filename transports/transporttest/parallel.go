package transporttest

import (
	"sort"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/presso-dev/presso/engine"
)

// Parallelism is the measurement of RunWorkerParallelism, for the caller
// to log.
type Parallelism struct {
	// Elapsed runs from the first publish to the last ack.
	Elapsed time.Duration
	// Serial is the time one handler at a time would have needed.
	Serial time.Duration
	// Split counts the jobs that each of the two workers handled.
	Split [2]int
}

const (
	parallelJobs     = 10
	parallelJobDelay = 300 * time.Millisecond
)

// RunWorkerParallelism checks that two processes subscribed to
// engine.GroupWorkers share the render jobs: 10 jobs whose handler sleeps
// 300 ms each go to two transports, and each must get some and none may
// get a job twice. Timing depends on the machine, so it is returned for the
// report and not checked.
func RunWorkerParallelism(t *testing.T, factory Factory) Parallelism {
	t.Helper()
	publisher := open(t, factory)
	topic := newTopic()
	render := func(msg *message.Message) bool {
		if msg.Metadata.Get(metadataProbe) == "" {
			time.Sleep(parallelJobDelay)
		}
		return true
	}
	first := startReceiver(t, subscriber(t, open(t, factory), engine.GroupWorkers), topic, render)
	second := startReceiver(t, subscriber(t, open(t, factory), engine.GroupWorkers), topic, render)
	warmUp(t, publisher.Publisher(), topic, first, second)

	started := time.Now()
	want := publishN(t, publisher.Publisher(), topic, parallelJobs)
	all := func() []string { return append(first.ackedIDs(), second.ackedIDs()...) }
	if !waitUntil(deliveryTimeout, func() bool { return len(all()) >= len(want) }) {
		t.Fatalf("workers finished %d of %d jobs within %s", len(all()), len(want), deliveryTimeout)
	}
	elapsed := time.Since(started)

	time.Sleep(quietPeriod)
	if lost := missing(want, all()); len(lost) > 0 {
		t.Errorf("jobs never delivered: %v", lost)
	}
	if dups := countDuplicates(all()); len(dups) > 0 {
		t.Errorf("jobs rendered twice: %v", dups)
	}
	split := [2]int{len(first.ackedIDs()), len(second.ackedIDs())}
	if split[0] == 0 || split[1] == 0 {
		t.Errorf("split = %d/%d, want both workers to render jobs", split[0], split[1])
	}
	return Parallelism{Elapsed: elapsed, Serial: parallelJobs * parallelJobDelay, Split: split}
}

// MeasureLatency publishes n messages one at a time, each gap after the
// previous one was handled, and returns the publish-to-handler latencies
// sorted from fastest to slowest. A gap longer than a polling transport's
// poll interval measures a consumer that has gone idle.
func MeasureLatency(t *testing.T, factory Factory, n int, gap time.Duration) []time.Duration {
	t.Helper()
	tr := open(t, factory)
	topic := newTopic()
	handled := make(chan time.Time, 1)
	r := startReceiver(t, subscriber(t, tr, uniqueName("group-")), topic, func(msg *message.Message) bool {
		if msg.Metadata.Get(metadataProbe) == "" {
			handled <- time.Now()
		}
		return true
	})
	warmUp(t, tr.Publisher(), topic, r)

	latencies := make([]time.Duration, 0, n)
	for range n {
		time.Sleep(gap)
		sent := time.Now()
		publishN(t, tr.Publisher(), topic, 1)
		select {
		case at := <-handled:
			latencies = append(latencies, at.Sub(sent))
		case <-time.After(deliveryTimeout):
			t.Fatalf("message not handled within %s", deliveryTimeout)
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return latencies
}

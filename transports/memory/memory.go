// Package memory is the in-process transport: Watermill's GoChannel. It is
// the embedded default, for one process that accepts, renders and delivers.
// Messages live in memory only: jobs still queued when the process stops
// are lost, which is why the engine drains before closing it.
package memory

import (
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.Transports.Register("memory", func(deps engine.Deps) (engine.Transport, error) {
		return New(deps.Logger), nil
	})
}

// Transport wraps one GoChannel shared by publishers and subscribers.
type Transport struct {
	pubsub *gochannel.GoChannel
}

var _ engine.Transport = (*Transport)(nil)

// New returns an in-memory transport.
func New(logger *slog.Logger) *Transport {
	if logger == nil {
		logger = slog.Default()
	}
	pubsub := gochannel.NewGoChannel(gochannel.Config{
		// A buffer lets Publish return before the handler takes the
		// message, so that accepting an async job does not wait for a
		// free render slot.
		OutputChannelBuffer: 1024,
	}, watermill.NewSlogLogger(logger.With("component", "transport")))
	return &Transport{pubsub: pubsub}
}

// Publisher returns the GoChannel.
func (t *Transport) Publisher() message.Publisher { return t.pubsub }

// Subscriber returns the GoChannel. GoChannel has no consumer groups: every
// subscriber of a topic gets every message, which is right for one process
// with one subscriber per topic.
func (t *Transport) Subscriber(string) (message.Subscriber, error) { return t.pubsub, nil }

// Close closes the GoChannel, cancelling messages still in flight.
func (t *Transport) Close() error { return t.pubsub.Close() }

package memory

import (
	"log/slog"
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/transports/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) engine.Transport {
		return New(slog.New(slog.DiscardHandler))
	}, transporttest.Features{})
}

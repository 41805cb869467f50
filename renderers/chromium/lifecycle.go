package chromium

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// restartBackoffMax bounds the pause between two failed starts of Chromium
// after it was lost. The pause starts at a second and doubles.
const restartBackoffMax = 30 * time.Second

// errBrowserLost is the cause with which a render's context is cancelled
// when its Chromium process exits.
var errBrowserLost = errors.New("chromium exited")

// supervisor keeps a usable Chromium for the renderer. It starts one, gives
// it to renders, and replaces it:
//   - when the process exits, or fails failedChecksBeforeRestart health
//     checks in a row, at once: renders under way on it fail;
//   - after renderer.chromium.recycle_after renders, or when its memory
//     exceeds renderer.chromium.recycle_memory_mb, once a new process has
//     started: renders under way finish on the old one (they drain), and
//     then it stops.
//
// A single goroutine (run) makes every replacement, so two never overlap.
type supervisor struct {
	cfg    Config
	logger *slog.Logger
	proxy  *outbound.Proxy

	// stopCtx ends with Close; it cancels starts, waits and drains.
	stopCtx context.Context
	stop    context.CancelFunc
	// done is closed when run returns.
	done chan struct{}
	// recycleRequested wakes run when a browser has reached recycle_after
	// renders; browser.recycleRequested marks that browser.
	recycleRequested chan struct{}
	// drains tracks the goroutines that stop recycled browsers.
	drains sync.WaitGroup
	// launches counts the browsers started, the first one included.
	launches atomic.Int64

	mu sync.Mutex
	// current is the browser that new renders get; nil while Chromium is
	// being started again after it was lost.
	current *browser
	// retiring holds recycled browsers that still finish renders.
	retiring map[*browser]struct{}
	// changed is closed, and replaced, whenever current changes.
	changed chan struct{}
	// startErr is the error of the last start after a loss, nil once a
	// start succeeded. Renders fail at once while it is set.
	startErr error
	closed   bool
}

// startSupervisor starts the first Chromium and the goroutine that watches it.
func startSupervisor(cfg Config, logger *slog.Logger, proxy *outbound.Proxy) (*supervisor, error) {
	stopCtx, stop := context.WithCancel(context.Background())
	s := &supervisor{
		cfg:              cfg,
		logger:           logger,
		proxy:            proxy,
		stopCtx:          stopCtx,
		stop:             stop,
		done:             make(chan struct{}),
		recycleRequested: make(chan struct{}, 1),
		retiring:         map[*browser]struct{}{},
		changed:          make(chan struct{}),
	}
	b, err := s.launch()
	if err != nil {
		stop()
		return nil, err
	}
	s.current = b
	go s.run()
	return s, nil
}

// launch starts a browser and begins preparing its tabs.
func (s *supervisor) launch() (*browser, error) {
	b, err := launchBrowser(s.stopCtx, s.cfg, s.proxy.URL())
	if err != nil {
		return nil, err
	}
	b.id = s.launches.Add(1)
	b.pool = newPagePool(*s.cfg.Chromium.PreparedPages, func(ctx context.Context, label string) (*page, error) {
		return preparePage(ctx, b, s.proxy, s.cfg.Metrics, fmt.Sprintf("browser%d-%s", b.id, label))
	}, s.logger.With("browser", b.id))
	return b, nil
}

// acquire returns the browser for a new render and counts the render on
// it. The caller calls b.active.Done when the render and the closing of
// its tab are over. While Chromium is being started again, acquire waits
// until it is, or until ctx ends.
func (s *supervisor) acquire(ctx context.Context) (*browser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil, errClosed
		}
		if b := s.current; b != nil && !b.isLost() {
			b.active.Add(1)
			renders := b.renders.Add(1)
			limit := int64(*s.cfg.Chromium.RecycleAfter)
			if limit > 0 && renders >= limit && b.recycleRequested.CompareAndSwap(false, true) {
				select {
				case s.recycleRequested <- struct{}{}:
				default: // a wake-up is pending already
				}
			}
			return b, nil
		}
		if s.startErr != nil {
			return nil, engine.Errorf(engine.CodeRenderFailed, "Chromium is not running: it was lost and starting it again failed (%v); retry the request later", s.startErr)
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// currentBrowser returns the browser that new renders get, nil while none
// is usable.
func (s *supervisor) currentBrowser() *browser {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// setCurrent makes b the browser of new renders and wakes the renders that
// wait in acquire. It reports false, and changes nothing, after close.
func (s *supervisor) setCurrent(b *browser) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.current = b
	if b != nil {
		s.startErr = nil
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return true
}

// run watches the current browser until close: it restarts a browser that
// exited or stopped responding, and recycles one that served enough
// renders or uses too much memory.
func (s *supervisor) run() {
	defer close(s.done)
	ticker := time.NewTicker(s.cfg.Chromium.healthInterval)
	defer ticker.Stop()
	failedChecks := 0
	for {
		b := s.currentBrowser()
		if b == nil || s.stopCtx.Err() != nil {
			return
		}
		select {
		case <-s.stopCtx.Done():
			return
		case <-b.exited:
			s.restart(b, "exited")
			failedChecks = 0
		case <-ticker.C:
			// Crash handlers may exit after their browser's group was swept.
			reapChromiumZombies(0)
			if b.ping(s.cfg.Chromium.pingTimeout) {
				failedChecks = 0
			} else {
				failedChecks++
				s.logger.Warn("chromium health check failed", "pid", b.pid, "failedChecks", failedChecks, "timeout", s.cfg.Chromium.pingTimeout)
			}
			if failedChecks >= failedChecksBeforeRestart {
				s.restart(b, "stopped responding to DevTools commands and was restarted")
				failedChecks = 0
				continue
			}
			if limit := int64(s.cfg.Chromium.RecycleMemoryMB) << 20; limit > 0 && !b.isLost() {
				if rss := treeRSS(b.pid); rss > limit {
					s.recycle(b, fmt.Sprintf("its processes use %d MiB, over renderer.chromium.recycle_memory_mb", rss>>20))
				}
			}
		case <-s.recycleRequested:
			if b.recycleRequested.Load() {
				s.recycle(b, "it served renderer.chromium.recycle_after renders")
			}
		}
	}
}

// restart replaces a browser that was lost: it stops what is left of it,
// then starts a new one, retrying with a growing pause until one starts or
// the renderer closes. Renders wait for the new browser meanwhile, unless
// a start has failed.
func (s *supervisor) restart(old *browser, reason string) {
	old.markLost(reason)
	s.setCurrent(nil)
	if err := old.close(false); err != nil {
		s.logger.Error("stopping the lost chromium failed", "pid", old.pid, "error", err)
	}
	s.cfg.Metrics.CountBrowserRestart()
	s.logger.Warn("chromium "+old.lostReason()+"; starting a new one", "pid", old.pid, "renders", old.renders.Load())

	pause := time.Second
	for attempt := 1; ; attempt++ {
		started := time.Now()
		b, err := s.launch()
		if err == nil {
			if !s.setCurrent(b) {
				_ = b.close(false)
				return
			}
			s.logger.Info("chromium started again", "pid", b.pid, "version", b.version, "attempt", attempt, "duration", time.Since(started))
			return
		}
		if s.stopCtx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.startErr = err
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		s.logger.Error("starting chromium again failed; renders fail until it starts", "attempt", attempt, "retryIn", pause, "error", err)
		select {
		case <-time.After(pause):
		case <-s.stopCtx.Done():
			return
		}
		pause = min(2*pause, restartBackoffMax)
	}
}

// recycle replaces a working browser: it starts a new one, sends new
// renders to it, and leaves the old one to finish its renders and stop. If
// the new one does not start, the old one goes on rendering, and the next
// render or health check that finds it due requests a recycle again.
func (s *supervisor) recycle(old *browser, reason string) {
	started := time.Now()
	b, err := s.launch()
	if err != nil {
		if s.stopCtx.Err() == nil {
			s.logger.Error("starting a new chromium to recycle the old one failed; the old one goes on rendering", "pid", old.pid, "error", err)
		}
		old.recycleRequested.Store(false)
		return
	}

	s.mu.Lock()
	if s.closed || s.current != old {
		s.mu.Unlock()
		_ = b.close(false)
		return
	}
	s.retiring[old] = struct{}{}
	s.mu.Unlock()
	s.setCurrent(b)

	s.cfg.Metrics.CountBrowserRestart()
	s.logger.Info("chromium recycled", "reason", reason, "oldPid", old.pid, "renders", old.renders.Load(), "pid", b.pid, "startDuration", time.Since(started))
	s.drains.Add(1)
	go s.drain(old)
}

// drain stops a recycled browser once its renders are over. Each render
// ends within the render timeout, and closing its tab within stopTimeout,
// so drain waits at most for that sum plus another stopTimeout. Past it,
// or at close, the browser is stopped with whatever still runs on it.
func (s *supervisor) drain(old *browser) {
	defer s.drains.Done()
	// Its prepared tabs will serve no render.
	old.pool.close(true)

	drained := make(chan struct{})
	go func() {
		old.active.Wait()
		close(drained)
	}()
	timer := time.NewTimer(s.cfg.Timeout + 2*stopTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.logger.Warn("renders on the recycled chromium did not end in time; stopping it anyway", "pid", old.pid)
		old.markLost("was stopped after a recycle")
	case <-s.stopCtx.Done():
		old.markLost("was stopped because the renderer closed")
	}

	if err := old.close(true); err != nil {
		s.logger.Error("stopping the recycled chromium failed", "pid", old.pid, "error", err)
	} else {
		s.logger.Debug("recycled chromium stopped", "pid", old.pid)
	}
	s.mu.Lock()
	delete(s.retiring, old)
	s.mu.Unlock()
}

// close stops the supervisor and every browser, the ones that drain
// included. Renders still under way fail.
func (s *supervisor) close() error {
	s.mu.Lock()
	s.closed = true
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.stop()
	<-s.done

	s.mu.Lock()
	b := s.current
	s.current = nil
	s.mu.Unlock()
	var err error
	if b != nil {
		err = b.close(true)
	}
	s.drains.Wait()
	return err
}

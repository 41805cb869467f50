package chromium

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// prepareTimeout bounds the preparation of one tab.
const prepareTimeout = 10 * time.Second

// pagePool keeps up to size tabs of one browser ready for the next renders.
// Creating a browser context and a tab, and enabling the Page domain in it,
// took Chromium 156 about 130 ms on a 2-core machine, mostly to start the
// tab's renderer process. A prepared tab moves that work out of the render
// (BenchmarkRenderPDFPreparedTabs measures the difference).
//
// Each prepared tab lives in a browser context of its own, bound to an
// outbound proxy session of its own. It serves exactly one render and is
// disposed of after it, so jobs stay as isolated as with tabs created on
// demand. The renderer calls fill after each render to prepare the next.
type pagePool struct {
	size   int
	create func(ctx context.Context, label string) (*page, error)
	logger *slog.Logger
	// ctx ends with close and cancels the preparations under way.
	ctx    context.Context
	cancel context.CancelFunc
	// preparing tracks the goroutines that prepare tabs.
	preparing sync.WaitGroup

	mu   sync.Mutex
	idle []*page
	// creating is the number of tabs being prepared, waiting the number of
	// takes that wait for one of them.
	creating int
	waiting  int
	// changed is closed, and replaced, whenever a preparation ends.
	changed chan struct{}
	// prepared numbers the tabs, for the labels of their proxy sessions.
	prepared int
	closed   bool
}

// newPagePool returns a pool that prepares tabs with create, and starts
// filling it. A size of 0 prepares nothing.
func newPagePool(size int, create func(ctx context.Context, label string) (*page, error), logger *slog.Logger) *pagePool {
	ctx, cancel := context.WithCancel(context.Background())
	pool := &pagePool{size: size, create: create, logger: logger, ctx: ctx, cancel: cancel, changed: make(chan struct{})}
	pool.mu.Lock()
	pool.fillLocked()
	pool.mu.Unlock()
	return pool
}

// take returns a prepared tab, bound to ctx, or nil when there is none: the
// caller then opens a tab itself. When every tab is taken but some are
// being prepared, and fewer renders wait than are being prepared, take
// waits for one, because the preparation under way ends sooner than a new
// one would. It returns nil as well when ctx ends first.
func (pool *pagePool) take(ctx context.Context) *page {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	for !pool.closed {
		if len(pool.idle) > 0 {
			p := pool.idle[0]
			pool.idle = pool.idle[1:]
			p.session = p.session.withContext(ctx)
			return p
		}
		if pool.waiting >= pool.creating {
			// Preparations that failed are started again here.
			pool.fillLocked()
			return nil
		}
		changed := pool.changed
		pool.waiting++
		pool.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		pool.mu.Lock()
		pool.waiting--
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// fill starts preparing tabs until the ready and the preparing ones make
// size. The renderer calls it once a render is over rather than take, so
// that Chromium prepares the next tab while no render waits for the CPU.
func (pool *pagePool) fill() {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	pool.fillLocked()
}

// fillLocked starts preparing tabs until the ready and the preparing ones
// make size. Called with mu held.
func (pool *pagePool) fillLocked() {
	for !pool.closed && len(pool.idle)+pool.creating < pool.size {
		pool.creating++
		pool.prepared++
		pool.preparing.Add(1)
		go pool.prepare("prepared-" + strconv.Itoa(pool.prepared))
	}
}

// prepare creates one tab and adds it to the pool. A failed preparation is
// not retried here, so that a lost browser is not asked again and again;
// the next take starts a new one.
func (pool *pagePool) prepare(label string) {
	defer pool.preparing.Done()
	ctx, cancel := context.WithTimeout(pool.ctx, prepareTimeout)
	p, err := pool.create(ctx, label)
	cancel()

	pool.mu.Lock()
	pool.creating--
	keep := err == nil && !pool.closed
	if keep {
		pool.idle = append(pool.idle, p)
	}
	close(pool.changed)
	pool.changed = make(chan struct{})
	pool.mu.Unlock()

	if err != nil && pool.ctx.Err() == nil {
		pool.logger.Debug("preparing a tab failed; renders open their own tab until one is prepared", "error", err)
	}
	if p != nil && !keep {
		_ = p.close()
	}
}

// close stops preparing tabs and closes those that are ready. dispose
// false only closes their proxy sessions, for a browser that is gone,
// where disposing of a browser context could only fail.
func (pool *pagePool) close(dispose bool) {
	pool.mu.Lock()
	if pool.closed {
		pool.mu.Unlock()
		return
	}
	pool.closed = true
	idle := pool.idle
	pool.idle = nil
	close(pool.changed)
	pool.changed = make(chan struct{})
	pool.mu.Unlock()

	pool.cancel()
	pool.preparing.Wait()
	for _, p := range idle {
		if dispose {
			_ = p.close()
		} else if p.proxy != nil {
			_ = p.proxy.Close()
		}
	}
}

// preparePage opens a tab for a render that is yet to come, with a proxy
// session of its own labelled label, and enables the Page domain and its
// lifecycle events in it, which every render needs.
func preparePage(ctx context.Context, b *browser, proxy *outbound.Proxy, metrics *engine.Metrics, label string) (*page, error) {
	session, err := newProxySession(proxy, metrics, label)
	if err != nil {
		return nil, err
	}
	p, err := openPage(ctx, b, session)
	if err != nil {
		return nil, err
	}
	p.proxyLabel = label
	if err := p.enable(); err != nil {
		_ = p.close()
		return nil, err
	}
	return p, nil
}

// enable turns on the Page domain and its lifecycle events, which the load
// watcher reads. Chromium returns from Page.enable once the tab's renderer
// process runs, so this is the slow half of preparing a tab.
func (p *page) enable() error {
	if p.enabled {
		return nil
	}
	if err := (proto.PageEnable{}).Call(p.session); err != nil {
		return err
	}
	if err := (proto.PageSetLifecycleEventsEnabled{Enabled: true}).Call(p.session); err != nil {
		return err
	}
	p.enabled = true
	return nil
}

package chromium

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// The waitUntil events of a request, named as in Puppeteer's page.goto.
const (
	waitLoad             = "load"
	waitDOMContentLoaded = "domcontentloaded"
	waitNetworkIdle0     = "networkidle0"
	waitNetworkIdle2     = "networkidle2"
)

// networkIdleTime is how long the number of open requests must stay at or
// under the limit before networkidle0 or networkidle2 holds, as in Puppeteer.
const networkIdleTime = 500 * time.Millisecond

// networkIdleLimits are the maximum numbers of open requests that
// networkidle0 and networkidle2 allow, in the order of loadWatcher's arrays.
var networkIdleLimits = [2]int{0, 2}

// checkWaitUntil rejects event names that the watcher does not know.
func checkWaitUntil(events []string) error {
	for _, event := range events {
		switch event {
		case waitLoad, waitDOMContentLoaded, waitNetworkIdle0, waitNetworkIdle2:
		default:
			return engine.Errorf(engine.CodeInvalidRequest, "unknown waitUntil event %q: use load, domcontentloaded, networkidle0 or networkidle2", event)
		}
	}
	return nil
}

// needsNetwork reports whether waiting for events needs request counting.
func needsNetwork(events []string) bool {
	for _, event := range events {
		if event == waitNetworkIdle0 || event == waitNetworkIdle2 {
			return true
		}
	}
	return false
}

// loadWatcher follows the events of one tab: the lifecycle of the main
// frame's document, the requests in flight and JavaScript dialogs.
//
// A document starts with the lifecycle event "init" of the main frame,
// which both a navigation and Page.setDocumentContent send. Every later
// "init", such as one from a client-side redirect, starts the wait over
// for the new document. The watcher must subscribe after the Page domain
// is enabled, because enabling lifecycle events replays those of the
// current about:blank document, and before the content is loaded.
type loadWatcher struct {
	session   session
	mainFrame proto.PageFrameID
	logger    *slog.Logger
	// decodeFailed records that an event failed to decode, to log it once.
	// Only the event goroutine uses it.
	decodeFailed bool

	// changed gets a value, without blocking, after every state change.
	changed chan struct{}
	// done is closed when the event stream ends.
	done chan struct{}

	mu sync.Mutex
	// failure ends every wait: the tab crashed or was detached.
	failure error
	// documents counts the main-frame documents started since subscribing.
	documents int
	// domContentLoadedAt is zero until the current document fires
	// DOMContentLoaded.
	domContentLoadedAt time.Time
	loaded             bool
	open               map[proto.NetworkRequestID]struct{}
	// quietSince is when the number of open requests last fell to at most
	// networkIdleLimits[i], zero while it is above.
	quietSince [2]time.Time
	// idle records that networkidle0 (index 0) or networkidle2 (index 1)
	// held for the current document.
	idle [2]bool
}

// watchPage subscribes to the tab's events until ctx ends.
func watchPage(ctx context.Context, p *page, logger *slog.Logger) *loadWatcher {
	now := time.Now()
	w := &loadWatcher{
		session:    p.session,
		mainFrame:  proto.PageFrameID(p.targetID),
		logger:     logger,
		changed:    make(chan struct{}, 1),
		done:       make(chan struct{}),
		open:       map[proto.NetworkRequestID]struct{}{},
		quietSince: [2]time.Time{now, now},
	}
	events := p.browser.rod.Context(ctx).Event()
	go w.run(events)
	return w
}

func (w *loadWatcher) run(events <-chan *rod.Message) {
	defer close(w.done)
	for msg := range events {
		if msg.SessionID == w.session.id {
			w.handleDecodable(msg)
			continue
		}
		// Detach events come on the browser's own session.
		var detached proto.TargetDetachedFromTarget
		if msg.Load(&detached) && detached.SessionID == w.session.id {
			w.fail(errors.New("the tab was detached from the DevTools connection"))
			return
		}
	}
}

// handleDecodable handles msg and survives an event that does not decode.
// rod's Message.Load panics when an event does not fit rod's struct, as a
// Chromium newer than rod's protocol version can cause. Without the
// recover, that panic would end the whole process.
func (w *loadWatcher) handleDecodable(msg *rod.Message) {
	defer func() {
		if v := recover(); v != nil && !w.decodeFailed {
			w.decodeFailed = true
			w.logger.Warn("ignoring DevTools events that do not decode; waits for network idle may end early", "method", msg.Method, "error", v)
		}
	}()
	w.handle(msg)
}

func (w *loadWatcher) handle(msg *rod.Message) {
	var (
		lifecycle proto.PageLifecycleEvent
		sent      proto.NetworkRequestWillBeSent
		finished  proto.NetworkLoadingFinished
		failed    proto.NetworkLoadingFailed
		dialog    proto.PageJavascriptDialogOpening
	)
	switch {
	case msg.Load(&lifecycle):
		if lifecycle.FrameID == w.mainFrame {
			w.update(func(now time.Time) { w.lifecycle(lifecycle.Name, now) })
		}
	case msg.Load(&sent):
		// A redirect sends requestWillBeSent again with the same id.
		w.update(func(now time.Time) {
			w.latchIdle(now)
			w.open[sent.RequestID] = struct{}{}
		})
	case msg.Load(&finished):
		w.update(func(time.Time) { delete(w.open, finished.RequestID) })
	case msg.Load(&failed):
		w.update(func(time.Time) { delete(w.open, failed.RequestID) })
	case msg.Load(&dialog):
		w.dismiss(dialog.Type)
	case msg.Method == (proto.InspectorTargetCrashed{}).ProtoEvent():
		w.fail(engine.Errorf(engine.CodeRenderFailed, "the page crashed while rendering: Chromium's tab process ended"))
	}
}

// lifecycle records a lifecycle event of the main frame. Called with mu held.
func (w *loadWatcher) lifecycle(name proto.PageLifecycleEventName, now time.Time) {
	switch name {
	case proto.PageLifecycleEventNameInit:
		w.documents++
		w.domContentLoadedAt = time.Time{}
		w.loaded = false
		w.idle = [2]bool{}
	case proto.PageLifecycleEventNameDOMContentLoaded:
		w.domContentLoadedAt = now
	case proto.PageLifecycleEventNameLoad:
		w.loaded = true
	}
}

// update runs change with mu held, refreshes quietSince and wakes the waiter.
func (w *loadWatcher) update(change func(now time.Time)) {
	defer w.signal()
	w.mu.Lock()
	defer w.mu.Unlock()

	now := time.Now()
	change(now)
	for i, limit := range networkIdleLimits {
		switch {
		case len(w.open) > limit:
			w.quietSince[i] = time.Time{}
		case w.quietSince[i].IsZero():
			w.quietSince[i] = now
		}
	}
}

// idleFrom returns when the quiet period of limit index i started to
// count: network idle, like Chromium's own detector, counts only from
// DOMContentLoaded on. Zero means it has not started. Called with mu held.
func (w *loadWatcher) idleFrom(i int) time.Time {
	if w.documents == 0 || w.domContentLoadedAt.IsZero() || w.quietSince[i].IsZero() {
		return time.Time{}
	}
	if w.quietSince[i].After(w.domContentLoadedAt) {
		return w.quietSince[i]
	}
	return w.domContentLoadedAt
}

// latchIdle records the network idle states that hold at now. It runs
// before a new request is counted too, so that a quiet period that ended
// exactly when the waiter's timer fired still counts. Called with mu held.
func (w *loadWatcher) latchIdle(now time.Time) {
	for i := range networkIdleLimits {
		from := w.idleFrom(i)
		if !w.idle[i] && !from.IsZero() && now.Sub(from) >= networkIdleTime {
			w.idle[i] = true
		}
	}
}

func (w *loadWatcher) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func (w *loadWatcher) fail(err error) {
	w.mu.Lock()
	if w.failure == nil {
		w.failure = err
	}
	w.mu.Unlock()
	w.signal()
}

// dismiss closes a JavaScript dialog, which would otherwise stop the page's
// scripts, and with them the load, until the render times out. A
// beforeunload dialog is accepted so that a navigation can go on.
func (w *loadWatcher) dismiss(kind proto.PageDialogType) {
	accept := kind == proto.PageDialogTypeBeforeunload
	if err := (proto.PageHandleJavaScriptDialog{Accept: accept}).Call(w.session); err != nil {
		w.logger.Warn("closing a JavaScript dialog failed", "dialogType", kind, "error", err)
		return
	}
	w.logger.Debug("closed a JavaScript dialog", "dialogType", kind, "accepted", accept)
}

// wait returns once every event in events holds for the current document,
// or with the error that ended the wait.
// hasLoaded reports whether the current document has fired its load event.
func (w *loadWatcher) hasLoaded() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loaded
}

func (w *loadWatcher) wait(ctx context.Context, events []string) error {
	for {
		w.mu.Lock()
		now := time.Now()
		w.latchIdle(now)
		ready, recheckAt := w.ready(events)
		failure := w.failure
		w.mu.Unlock()

		if failure != nil {
			return failure
		}
		if ready {
			return nil
		}

		var timer *time.Timer
		var fired <-chan time.Time
		if !recheckAt.IsZero() {
			timer = time.NewTimer(recheckAt.Sub(now))
			fired = timer.C
		}
		var err error
		select {
		case <-w.changed:
		case <-fired:
		case <-ctx.Done():
			err = ctx.Err()
		case <-w.done:
			err = w.endError(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return err
		}
	}
}

// endError returns why the event stream ended: a failure of the tab, the
// end of ctx, or the connection going away.
func (w *loadWatcher) endError(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.failure != nil:
		return w.failure
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return errors.New("the DevTools event stream ended")
}

// ready reports whether every event holds. If not, recheckAt is when a
// network idle period that is under way will have lasted long enough, or
// zero if none is. Called with mu held.
func (w *loadWatcher) ready(events []string) (ready bool, recheckAt time.Time) {
	if w.documents == 0 {
		return false, time.Time{}
	}
	ready = true
	for _, event := range events {
		switch event {
		case waitLoad:
			ready = ready && w.loaded
		case waitDOMContentLoaded:
			ready = ready && !w.domContentLoadedAt.IsZero()
		case waitNetworkIdle0, waitNetworkIdle2:
			i := 0
			if event == waitNetworkIdle2 {
				i = 1
			}
			if w.idle[i] {
				continue
			}
			ready = false
			if from := w.idleFrom(i); !from.IsZero() {
				at := from.Add(networkIdleTime)
				if recheckAt.IsZero() || at.Before(recheckAt) {
					recheckAt = at
				}
			}
		}
	}
	return ready, recheckAt
}

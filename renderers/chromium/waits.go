package chromium

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// pollScript is a JavaScript function (check, polling) that returns a
// promise. The promise resolves once check() returns or resolves to a
// truthy value, and rejects with the exception of check. A check whose
// value is a function is called and its result used instead, so that
// "() => window.ready" works as a page function. polling is "raf" (check
// before every animation frame), "mutation" (check once, then after every
// DOM change) or a number of milliseconds between checks, as in Puppeteer.
const pollScript = `(check, polling) => new Promise((resolve, reject) => {
	let finished = false;
	let observer = null;
	let timer = 0;
	const stop = () => {
		finished = true;
		if (observer) observer.disconnect();
		clearTimeout(timer);
	};
	const attempt = async () => {
		if (finished) return true;
		try {
			let value = await check();
			if (typeof value === 'function') value = await value();
			if (value && !finished) {
				stop();
				resolve(true);
			}
		} catch (error) {
			if (!finished) {
				stop();
				reject(error);
			}
		}
		return finished;
	};
	if (polling === 'raf') {
		const onFrame = async () => {
			if (!(await attempt())) requestAnimationFrame(onFrame);
		};
		onFrame();
	} else if (polling === 'mutation') {
		observer = new MutationObserver(() => { attempt(); });
		observer.observe(document, {childList: true, subtree: true, attributes: true, characterData: true});
		attempt();
	} else {
		const onTick = async () => {
			if (!(await attempt())) timer = setTimeout(onTick, polling);
		};
		onTick();
	}
})`

// checkOnceScript is a JavaScript function (check) that runs check once,
// as pollScript does, and resolves to whether the wait is over.
const checkOnceScript = `async (check) => {
	let value = await check();
	if (typeof value === 'function') value = await value();
	return !!value;
}`

// selectorCheck is a JavaScript function (selector, isXPath, state) that
// reports whether waitForSelector is over. state is "attached" (an
// element matches), "visible" or "hidden", with Puppeteer's meaning of
// visible: not visibility hidden, and a box of non-zero size, which
// display none never has. A text node found by XPath counts as its parent
// element.
const selectorCheck = `(selector, isXPath, state) => {
	const node = isXPath
		? document.evaluate(selector, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue
		: document.querySelector(selector);
	const isVisible = () => {
		const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
		if (!element) return false;
		const box = element.getBoundingClientRect();
		return getComputedStyle(element).visibility !== 'hidden' && box.width > 0 && box.height > 0;
	};
	switch (state) {
	case 'visible': return !!node && isVisible();
	case 'hidden': return !node || !isVisible();
	default: return !!node;
	}
}`

// maxStageText is the most characters of a selector or page function that
// an error message quotes.
const maxStageText = 80

// retryPause is the pause before a wait starts over in a new document.
const retryPause = 50 * time.Millisecond

// outsidePollInterval is how often a wait evaluates its check from outside
// a page whose JavaScript is off, for the polling modes raf and mutation.
// minOutsidePollInterval bounds a shorter polling interval of the request.
const (
	outsidePollInterval    = 100 * time.Millisecond
	minOutsidePollInterval = 10 * time.Millisecond
)

// waitTask is a checked waitForSelector or waitForFunction.
type waitTask struct {
	// stage names the wait in errors: waitForSelector "#total".
	stage string
	// timeout is the wait's own time limit, 0 for none.
	timeout time.Duration
	// check is the source of a JavaScript function that returns, or
	// resolves to, a truthy value once the wait is over.
	check string
	// polling is engine.PollingRAF, engine.PollingMutation or an
	// interval in milliseconds (float64).
	polling any
}

// newWaitTasks returns the waits of page, waitForSelector first.
func newWaitTasks(page *engine.PageOptions) ([]waitTask, error) {
	var tasks []waitTask
	if w := page.WaitForSelector; w != nil {
		task, err := selectorTask(w)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, task)
	}
	if w := page.WaitForFunction; w != nil {
		tasks = append(tasks, functionTask(w))
	}
	return tasks, nil
}

// selectorTask builds the wait of waitForSelector. As in Puppeteer, a wait
// for visibility polls on every animation frame, because a change of style
// need not change the DOM, and any other wait polls on DOM changes.
func selectorTask(w *engine.WaitForSelector) (waitTask, error) {
	state, polling := "attached", engine.PollingMutation
	var timeout *float64
	if o := w.Options; o != nil {
		timeout = o.Timeout
		switch {
		case o.Visible:
			state, polling = "visible", engine.PollingRAF
		case o.Hidden:
			state, polling = "hidden", engine.PollingRAF
		}
	}
	selector, isXPath := strings.CutPrefix(w.Selector, engine.XPathPrefix)
	args, err := jsonArgs(selector, isXPath, state)
	if err != nil {
		return waitTask{}, err
	}
	check := fmt.Sprintf("() => (%s)(%s)", selectorCheck, args)
	return newWaitTask("waitForSelector", w.Selector, timeout, check, polling), nil
}

// functionTask builds the wait of waitForFunction. The page function is
// placed in the expression as it is, so that its names resolve to the
// page's globals and none of Presso's, and so that a
// Content-Security-Policy without unsafe-eval does not stop it. Line
// breaks around it keep a trailing line comment from swallowing the
// closing parenthesis, and trailing semicolons are dropped so that
// "window.ready;" works as an expression.
func functionTask(w *engine.WaitForFunction) waitTask {
	var (
		timeout *float64
		polling any = engine.PollingRAF
	)
	if o := w.Options; o != nil {
		timeout = o.Timeout
		if p := o.Polling; p != nil {
			polling = p.Interval
			if p.Mode != "" {
				polling = p.Mode
			}
		}
	}
	source := strings.TrimRight(w.PageFunction, "; \t\r\n")
	check := "() => (\n" + source + "\n)"
	return newWaitTask("waitForFunction", w.PageFunction, timeout, check, polling)
}

func newWaitTask(option, text string, timeout *float64, check string, polling any) waitTask {
	return waitTask{
		stage:   fmt.Sprintf("%s %q", option, shorten(text)),
		timeout: engine.WaitTimeout(timeout),
		check:   check,
		polling: polling,
	}
}

// jsonArgs encodes values as a JavaScript argument list.
func jsonArgs(values ...any) (string, error) {
	encoded, err := json.Marshal(values)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(encoded), "["), "]"), nil
}

func shorten(text string) string {
	runes := []rune(strings.TrimSpace(text))
	if len(runes) <= maxStageText {
		return string(runes)
	}
	return string(runes[:maxStageText-1]) + "…"
}

// run waits until the task is over, within its own time limit and ctx.
// Running out of its own time limit is a timeout JobError that names the
// task. The end of ctx is left to stageError, which names the render's
// limit.
//
// A page with JavaScript turned off runs no timer or animation frame
// callback (observed with Chromium 156), so with scriptsDisabled the check
// is evaluated from here instead, at the polling interval or at
// outsidePollInterval.
func (t waitTask) run(ctx context.Context, p *page, scriptsDisabled bool) error {
	waitCtx := ctx
	if t.timeout > 0 {
		deadline, ok := ctx.Deadline()
		if !ok || time.Until(deadline) > t.timeout {
			var cancel context.CancelFunc
			waitCtx, cancel = context.WithTimeout(ctx, t.timeout)
			defer cancel()
		}
	}
	var err error
	if scriptsDisabled {
		err = t.pollFromOutside(p.session.withContext(waitCtx))
	} else {
		err = t.poll(p.session.withContext(waitCtx))
	}
	if err != nil && ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
		return engine.Errorf(engine.CodeTimeout, "timed out after %s waiting for %s", t.timeout.Round(time.Millisecond), t.stage)
	}
	return err
}

// poll evaluates the task's expression until its promise settles. A
// navigation destroys the document that the promise lives in; the wait
// then starts over in the new document, as Puppeteer's waits do.
func (t waitTask) poll(s session) error {
	pollingArg, err := json.Marshal(t.polling)
	if err != nil {
		return err
	}
	expression := fmt.Sprintf("(%s)(%s, %s)", pollScript, t.check, pollingArg)
	for {
		_, err := t.evaluate(s, expression)
		switch {
		case err == nil:
			return nil
		case s.ctx.Err() != nil || !isDocumentGone(err):
			return err
		}
		if err := sleep(s.ctx, retryPause); err != nil {
			return err
		}
	}
}

// pollFromOutside evaluates the check once per interval until it holds.
func (t waitTask) pollFromOutside(s session) error {
	interval := outsidePollInterval
	if ms, ok := t.polling.(float64); ok {
		interval = max(time.Duration(ms*float64(time.Millisecond)), minOutsidePollInterval)
	}
	expression := fmt.Sprintf("(%s)(%s)", checkOnceScript, t.check)
	for {
		done, err := t.evaluate(s, expression)
		switch {
		case err == nil && done:
			return nil
		case err != nil && (s.ctx.Err() != nil || !isDocumentGone(err)):
			return err
		}
		if err := sleep(s.ctx, interval); err != nil {
			return err
		}
	}
}

// evaluate runs expression, awaits its promise and returns whether it
// resolved to true. An exception of the page is a render_failed JobError.
func (t waitTask) evaluate(s session, expression string) (bool, error) {
	res, err := proto.RuntimeEvaluate{
		Expression:    expression,
		AwaitPromise:  true,
		ReturnByValue: true,
	}.Call(s)
	switch {
	case err != nil:
		return false, err
	case res.ExceptionDetails != nil:
		return false, engine.Errorf(engine.CodeRenderFailed, "%s failed: the page threw %s", t.stage, exceptionText(res.ExceptionDetails))
	}
	return res.Result != nil && res.Result.Value.Bool(), nil
}

// sleep pauses for d, or returns the error of ctx if it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isDocumentGone reports whether err is Chromium's error for an evaluation
// whose document went away, as it does when the page navigates.
func isDocumentGone(err error) bool {
	var cdpErr *cdp.Error
	if !errors.As(err, &cdpErr) {
		return false
	}
	for _, text := range []string{"Execution context was destroyed", "Cannot find default execution context", "Inspected target navigated or closed", "Promise was collected"} {
		if strings.Contains(cdpErr.Message, text) {
			return true
		}
	}
	return false
}

// exceptionText returns the first line of a page exception, such as
// "ReferenceError: ready is not defined".
func exceptionText(details *proto.RuntimeExceptionDetails) string {
	text := details.Text
	if e := details.Exception; e != nil && e.Description != "" {
		text = e.Description
	} else if e != nil && !e.Value.Nil() {
		text = e.Value.String()
	}
	first, _, _ := strings.Cut(text, "\n")
	return first
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/launcher/flags"
	"github.com/go-rod/rod/lib/utils"
)

// chromiumFlags are the flags that renderers/chromium/browser.go sets on
// top of rod's launcher defaults. The baseline launches Chromium the same
// way, with proxy flags like those of renderers/chromium/guard.go, and
// scenario a compares the two command lines read from /proc.
var chromiumFlags = []flags.Flag{
	"disable-dev-shm-usage",
	"disable-gpu",
	"no-first-run",
	"disable-component-update",
	"disable-background-networking",
	"disable-sync",
	"disable-default-apps",
	"hide-scrollbars",
	"mute-audio",
}

// bareChromium is a Chromium process driven over the DevTools protocol
// with rod's cdp client and nothing else: the baseline of scenario a.
type bareChromium struct {
	launcher *launcher.Launcher
	ws       *cdp.WebSocket
	client   *cdp.Client
	dataDir  string
	pid      int
	exited   chan struct{}
	// proxy replaces Presso's outbound proxy, so that Chromium gets the same
	// proxy flags. The invoice makes no request that would reach it.
	proxy net.Listener

	closeOnce sync.Once
}

// launchBareChromium starts bin as Presso's renderer does: rod's launcher
// defaults, headless, --no-sandbox as root, the leakless guard, the flags
// above, --font-render-hinting=none and a loopback proxy.
func launchBareChromium(bin string) (*bareChromium, error) {
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			conn, err := proxy.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	dataDir, err := os.MkdirTemp("", "bench-chromium-")
	if err != nil {
		proxy.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l := launcher.New().
		Context(ctx).
		Bin(bin).
		UserDataDir(dataDir).
		Headless(true).
		NoSandbox(os.Geteuid() == 0).
		Delete(flags.ProxyServer).
		Delete("auto-open-devtools-for-tabs").
		Leakless(true)
	for _, f := range chromiumFlags {
		l.Set(f)
	}
	l.Set("font-render-hinting", "none")
	l.Set("proxy-server", "http://"+proxy.Addr().String())
	l.Set("proxy-bypass-list", "<-loopback>")
	l.Set("webrtc-ip-handling-policy", "disable_non_proxied_udp")
	u, err := l.Launch()
	if err != nil {
		if l.PID() != 0 {
			l.Kill()
		}
		_ = os.RemoveAll(dataDir)
		proxy.Close()
		return nil, fmt.Errorf("launching %s: %w", bin, err)
	}
	b := &bareChromium{launcher: l, dataDir: dataDir, pid: l.PID(), exited: make(chan struct{}), proxy: proxy}
	go func() {
		l.Cleanup() // returns once Chromium has exited
		close(b.exited)
	}()
	running.Lock()
	if running.browsers == nil {
		running.browsers = map[*bareChromium]bool{}
	}
	running.browsers[b] = true
	running.Unlock()
	b.ws = &cdp.WebSocket{}
	if err := b.ws.Connect(ctx, u, nil); err != nil {
		b.close()
		return nil, err
	}
	b.client = cdp.New().Logger(utils.LoggerQuiet).Start(b.ws)
	// The client blocks until every event is read.
	go func() {
		for range b.client.Event() {
		}
	}()
	return b, nil
}

// call sends one command and decodes its result into result unless nil.
func (b *bareChromium) call(ctx context.Context, session, method string, params, result any) error {
	raw, err := b.client.Call(ctx, session, method, params)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if result != nil {
		return json.Unmarshal(raw, result)
	}
	return nil
}

func (b *bareChromium) version() string {
	var v struct {
		Product string `json:"product"`
	}
	_ = b.call(context.Background(), "", "Browser.getVersion", nil, &v)
	return v.Product
}

// close asks Chromium to quit, kills it after 10 s, and waits for it.
func (b *bareChromium) close() {
	b.closeOnce.Do(b.doClose)
}

func (b *bareChromium) doClose() {
	defer func() {
		running.Lock()
		delete(running.browsers, b)
		running.Unlock()
	}()
	if b.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = b.call(ctx, "", "Browser.close", nil, nil)
		cancel()
	}
	select {
	case <-b.exited:
	case <-time.After(10 * time.Second):
		b.launcher.Kill()
		<-b.exited
	}
	if b.ws != nil {
		_ = b.ws.Close()
	}
	b.proxy.Close()
	_ = os.RemoveAll(b.dataDir)
	reapChromiumOrphans()
}

// printParams are the Page.printToPDF parameters that Presso sends for
// {"pdf": {"format": "A4"}}: every field explicit, A4 in inches, no
// margins, the PDF returned as a stream.
var printParams = map[string]any{
	"landscape": false, "displayHeaderFooter": false, "printBackground": false, "scale": 1,
	"paperWidth": 8.2677, "paperHeight": 11.6929,
	"marginTop": 0, "marginBottom": 0, "marginLeft": 0, "marginRight": 0,
	"pageRanges": "", "headerTemplate": "", "footerTemplate": "", "preferCSSPageSize": false,
	"transferMode": "ReturnAsStream", "generateTaggedPDF": false, "generateDocumentOutline": false,
}

// warmTab is one tab, opened once in the default browser context and
// reused for every render of one worker.
type warmTab struct {
	b       *bareChromium
	target  string
	session string
}

func (b *bareChromium) openWarmTab(ctx context.Context) (*warmTab, error) {
	var created struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	return &warmTab{b: b, target: created.TargetID, session: attached.SessionID}, nil
}

// render writes html into the tab, prints it and reads the PDF stream to
// its end. Page.printToPDF waits for the document's load event itself.
func (t *warmTab) render(ctx context.Context, html string) (int, error) {
	if err := t.b.call(ctx, t.session, "Page.setDocumentContent", map[string]any{"frameId": t.target, "html": html}, nil); err != nil {
		return 0, err
	}
	return printAndRead(ctx, t.b, t.session)
}

func printAndRead(ctx context.Context, b *bareChromium, session string) (int, error) {
	var printed struct {
		Stream string `json:"stream"`
	}
	if err := b.call(ctx, session, "Page.printToPDF", printParams, &printed); err != nil {
		return 0, err
	}
	return readStream(ctx, b, session, printed.Stream)
}

// readStream reads a DevTools stream in chunks of 1 MiB, as Presso does,
// decodes them and closes the stream.
func readStream(ctx context.Context, b *bareChromium, session, handle string) (int, error) {
	n := 0
	for {
		var chunk struct {
			Data          string `json:"data"`
			Base64Encoded bool   `json:"base64Encoded"`
			EOF           bool   `json:"eof"`
		}
		if err := b.call(ctx, session, "IO.read", map[string]any{"handle": handle, "size": 1 << 20}, &chunk); err != nil {
			return n, err
		}
		data := []byte(chunk.Data)
		if chunk.Base64Encoded {
			var err error
			if data, err = base64.StdEncoding.DecodeString(chunk.Data); err != nil {
				return n, err
			}
		}
		if n == 0 && !bytes.HasPrefix(data, []byte("%PDF")) {
			return n, fmt.Errorf("the stream does not start with %%PDF")
		}
		n += len(data)
		if chunk.EOF {
			break
		}
	}
	return n, b.call(ctx, session, "IO.close", map[string]any{"handle": handle}, nil)
}

// The steps of renderFreshContext, timed one by one.
var freshSteps = []string{
	"Target.createBrowserContext",
	"Browser.setDownloadBehavior",
	"Target.createTarget",
	"Target.attachToTarget",
	"Page.enable + lifecycle events + device metrics",
	"Page.setDocumentContent + wait for load",
	"document.fonts.ready",
	"Page.printToPDF",
	"IO.read to the end + IO.close",
	"Target.closeTarget + Target.disposeBrowserContext",
}

// renderFreshContext replays, over bare CDP, the commands that Presso's
// renderer sends for one render (renderers/chromium/page.go, load.go,
// pdf.go): a new incognito browser context and tab per render, closed at
// the end. It adds neither HTTP nor the queue, so the difference between
// it and the warm tab is the cost of the per-render context, and the
// difference between Presso and it is Presso's own. steps receives the
// duration of each step of freshSteps.
//
// With newContext false, the tab opens in the default browser context and
// the first two steps are skipped: the difference then shows what the
// context itself costs, apart from the tab.
func (b *bareChromium) renderFreshContext(ctx context.Context, html string, steps []time.Duration, newContext bool) (int, error) {
	mark := time.Now()
	step := func(i int) {
		now := time.Now()
		steps[i] = now.Sub(mark)
		mark = now
	}
	var bc struct {
		BrowserContextID string `json:"browserContextId"`
	}
	dispose := func() {}
	if newContext {
		if err := b.call(ctx, "", "Target.createBrowserContext", map[string]any{}, &bc); err != nil {
			return 0, err
		}
		step(0)
		dispose = func() {
			_ = b.call(context.Background(), "", "Target.disposeBrowserContext", map[string]any{"browserContextId": bc.BrowserContextID}, nil)
		}
		if err := b.call(ctx, "", "Browser.setDownloadBehavior", map[string]any{"behavior": "deny", "browserContextId": bc.BrowserContextID}, nil); err != nil {
			dispose()
			return 0, err
		}
		step(1)
	}
	target := map[string]any{"url": "about:blank"}
	if newContext {
		target["browserContextId"] = bc.BrowserContextID
	}
	var created struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", target, &created); err != nil {
		dispose()
		return 0, err
	}
	step(2)
	closeAll := func() {
		_ = b.call(context.Background(), "", "Target.closeTarget", map[string]any{"targetId": created.TargetID}, nil)
		dispose()
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		closeAll()
		return 0, err
	}
	step(3)
	s := attached.SessionID
	err := b.call(ctx, s, "Page.enable", map[string]any{}, nil)
	if err == nil {
		err = b.call(ctx, s, "Page.setLifecycleEventsEnabled", map[string]any{"enabled": true}, nil)
	}
	if err == nil {
		err = b.call(ctx, s, "Emulation.setDeviceMetricsOverride", map[string]any{
			"width": 800, "height": 600, "deviceScaleFactor": 1, "mobile": false,
			"screenOrientation": map[string]any{"type": "portraitPrimary", "angle": 0},
		}, nil)
	}
	if err != nil {
		closeAll()
		return 0, err
	}
	step(4)
	// Presso waits for the main frame's "load" lifecycle event; a promise
	// on the window's load event waits for the same moment.
	err = b.call(ctx, s, "Page.setDocumentContent", map[string]any{"frameId": created.TargetID, "html": html}, nil)
	if err == nil {
		err = evaluate(ctx, b, s, `document.readyState === "complete" || new Promise(r => addEventListener("load", () => r(true), {once: true}))`)
	}
	if err != nil {
		closeAll()
		return 0, err
	}
	step(5)
	if err := evaluate(ctx, b, s, "document.fonts.ready.then(() => true)"); err != nil {
		closeAll()
		return 0, err
	}
	step(6)
	var printed struct {
		Stream string `json:"stream"`
	}
	if err := b.call(ctx, s, "Page.printToPDF", printParams, &printed); err != nil {
		closeAll()
		return 0, err
	}
	step(7)
	n, err := readStream(ctx, b, s, printed.Stream)
	if err != nil {
		closeAll()
		return n, err
	}
	step(8)
	closeAll()
	step(9)
	return n, nil
}

func evaluate(ctx context.Context, b *bareChromium, session, expr string) error {
	var res struct {
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &res)
	if err == nil && res.ExceptionDetails != nil {
		err = fmt.Errorf("evaluate %q: %s", expr, res.ExceptionDetails.Text)
	}
	return err
}

// flagDiff compares two Chromium command lines, ignoring the arguments
// that differ by design between two instances: the user data dir, the
// DevTools port and the proxy's port.
func flagDiff(a, b []string) (onlyA, onlyB []string) {
	norm := func(args []string) map[string]bool {
		set := map[string]bool{}
		for _, arg := range args {
			if !strings.HasPrefix(arg, "--") {
				continue // the executable
			}
			name, _, _ := strings.Cut(arg, "=")
			switch name {
			case "--user-data-dir", "--remote-debugging-port":
				continue
			case "--proxy-server":
				arg = name
			}
			set[arg] = true
		}
		return set
	}
	sa, sb := norm(a), norm(b)
	for k := range sa {
		if !sb[k] {
			onlyA = append(onlyA, k)
		}
	}
	for k := range sb {
		if !sa[k] {
			onlyB = append(onlyB, k)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return onlyA, onlyB
}

package chromium

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/launcher/flags"
	"github.com/go-rod/rod/lib/proto"
	"github.com/go-rod/rod/lib/utils"

	"github.com/presso-dev/presso/engine"
)

const (
	// launchTimeout bounds the start of Chromium, up to a working DevTools
	// connection.
	launchTimeout = 30 * time.Second
	// stopTimeout bounds each step of stopping Chromium: the polite
	// Browser.close, then the wait after a kill.
	stopTimeout = 10 * time.Second
)

// launchFlags are the Chromium flags set on top of rod's launcher defaults.
// Without the ones that turn off background work (component updates, sync,
// background networking, first-run tasks), Chromium keeps trying to reach
// outside hosts. --hide-scrollbars keeps scrollbars out of screenshots, and
// --font-render-hinting=none (set in newLauncher) draws text without
// hinting, so glyph positions do not depend on the machine's font settings.
var launchFlags = []flags.Flag{
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

// browser is one running Chromium process and the DevTools connection to it.
type browser struct {
	// id numbers the browsers of a renderer from 1, in the order started.
	id       int64
	launcher *launcher.Launcher
	ws       *cdp.WebSocket
	conn     *cdp.Client
	// rod fans the connection's events out to every render and creates the
	// incognito contexts. Commands go through session, not through rod.
	rod *rod.Browser
	// cancel ends rod's event fan-out.
	cancel  context.CancelFunc
	dataDir string
	// pgrp is the process that the launcher started, the leader of the
	// process group of Chromium and its helpers. pid is Chromium's browser
	// process: the same process when bin is Chromium itself or a script
	// that execs it, a child of pgrp when bin is a script that runs it as
	// a child, as Debian's chromium-headless-shell does.
	pgrp    int
	pid     int
	version string
	// exited is closed once the Chromium process has exited and its user
	// data dir is removed.
	exited chan struct{}

	// pool holds the tabs prepared for the next renders; nil until connected.
	pool *pagePool
	// active counts the renders that use this browser, including the
	// closing of their tabs. Renders are added only while the browser is
	// the renderer's current one, so a retired browser's count only falls.
	active sync.WaitGroup
	// renders counts the renders given to this browser, for recycle_after.
	renders atomic.Int64
	// recycleRequested is set once the renderer was asked to replace it.
	recycleRequested atomic.Bool
	// lost holds the reason the renderer gave up on the process, such as
	// that it exited or stopped responding; nil while it is usable.
	lost atomic.Pointer[string]
}

// launchBrowser starts Chromium from cfg.Chromium.Bin with an empty user
// data dir of its own and connects to it. Cancelling ctx stops the start.
func launchBrowser(ctx context.Context, cfg Config, proxyURL string) (*browser, error) {
	bin, err := exec.LookPath(cfg.Chromium.Bin)
	if err != nil {
		return nil, fmt.Errorf("renderer.chromium.bin %q is not an executable file: %w; install Chromium (Debian: apt-get install chromium) or set renderer.chromium.bin", cfg.Chromium.Bin, err)
	}
	dataDir, err := os.MkdirTemp("", dataDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating the Chromium user data dir failed: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, launchTimeout)
	defer cancel()
	l := newLauncher(ctx, bin, dataDir, cfg.Chromium.Flags, proxyURL)
	controlURL, err := l.Launch()
	if err != nil {
		killLauncher(l)
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("starting Chromium (%s) failed: %w", bin, err)
	}

	b := &browser{launcher: l, dataDir: dataDir, pgrp: l.PID(), pid: l.PID(), exited: make(chan struct{})}
	go func() {
		// Cleanup returns once rod's os/exec has waited for the process it
		// started (leakless's guard, which waits for Chromium), so neither
		// stays a zombie.
		l.Cleanup()
		close(b.exited)
	}()
	if err := b.connect(ctx, controlURL); err != nil {
		_ = b.close(false)
		return nil, fmt.Errorf("connecting to Chromium (%s) failed: %w", bin, err)
	}
	return b, nil
}

// dataDirPrefix starts the name of every user data dir that the renderer
// creates in the temporary directory.
const dataDirPrefix = "presso-chromium-"

// newLauncher configures rod's launcher. rod takes defaults from a -rod
// command-line flag, so every setting that could change where Chromium
// comes from or how it runs is set explicitly here.
func newLauncher(ctx context.Context, bin, dataDir string, extraFlags []string, proxyURL string) *launcher.Launcher {
	l := launcher.New().
		Context(ctx).
		Bin(bin).
		UserDataDir(dataDir).
		Headless(true).
		// Chromium refuses to start as root with its sandbox on.
		NoSandbox(os.Geteuid() == 0).
		Delete(flags.ProxyServer).
		Delete("auto-open-devtools-for-tabs").
		// Leakless runs Chromium under a guard process that kills it when
		// this process dies without calling Close.
		Leakless(true)
	for _, flag := range launchFlags {
		l.Set(flag)
	}
	l.Set("font-render-hinting", "none")
	for _, flag := range extraFlags {
		name, value, _ := parseFlag(flag) // validated by Config.withDefaults
		if value == "" {
			l.Set(flags.Flag(name))
		} else {
			l.Set(flags.Flag(name), value)
		}
	}
	if proxyURL != "" {
		for name, value := range proxyFlags(proxyURL) {
			l.Set(flags.Flag(name), value)
		}
	}
	return l
}

// killLauncher kills what a failed Launch may have left running.
func killLauncher(l *launcher.Launcher) {
	if pid := l.PID(); pid != 0 {
		killGroup(pid)
		sweepGroup(pid, stopTimeout)
	}
}

// connect opens the DevTools connection and starts rod's event fan-out.
func (b *browser) connect(ctx context.Context, controlURL string) error {
	ws := &cdp.WebSocket{}
	if err := ws.Connect(ctx, controlURL, nil); err != nil {
		return err
	}
	b.ws = ws
	b.conn = cdp.New().Logger(utils.LoggerQuiet).Start(ws)

	// rod's event hub lives as long as this context, so it cannot be the
	// launch context; the launch context bounds Connect below instead.
	rodCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.rod = rod.New().
		Context(rodCtx).
		ControlURL("").
		Client(b.conn).
		Logger(utils.LoggerQuiet).
		SlowMotion(0).
		Trace(false).
		Monitor("").
		NoDefaultDevice()
	connected := make(chan error, 1)
	go func() { connected <- b.rod.Connect() }()
	select {
	case err := <-connected:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		cancel()
		<-connected
		return ctx.Err()
	}

	version, err := proto.BrowserGetVersion{}.Call(b.session(ctx, ""))
	if err != nil {
		return err
	}
	b.version = version.Product
	b.pid = b.browserPID(ctx)
	return nil
}

// browserPID returns the pid of the browser process, which Chromium
// reports itself, or pgrp when it does not. A kill or a health check aimed
// at a wrapper script that runs Chromium as a child would miss Chromium.
func (b *browser) browserPID(ctx context.Context) int {
	info, err := proto.SystemInfoGetProcessInfo{}.Call(b.session(ctx, ""))
	if err != nil {
		return b.pgrp
	}
	for _, p := range info.ProcessInfo {
		if p.Type == "browser" && p.ID > 0 {
			return p.ID
		}
	}
	return b.pgrp
}

// session returns a client for the target of id, or for the browser when
// id is empty.
func (b *browser) session(ctx context.Context, id proto.TargetSessionID) session {
	return session{conn: b.conn, ctx: ctx, id: id}
}

// ping reports whether Chromium is running and responds to a DevTools
// command within timeout.
func (b *browser) ping(timeout time.Duration) bool {
	if b.isLost() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := proto.BrowserGetVersion{}.Call(b.session(ctx, ""))
	return err == nil
}

// hasExited reports whether the Chromium process has exited.
func (b *browser) hasExited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

// markLost records why the renderer gave up on b; the first reason stays.
func (b *browser) markLost(reason string) {
	b.lost.CompareAndSwap(nil, &reason)
}

// isLost reports whether b can no longer render: it exited, or the
// renderer gave up on it.
func (b *browser) isLost() bool {
	return b.lost.Load() != nil || b.hasExited()
}

// diedDuring reports whether the failure err of a render that ran with
// renderCtx is due to the loss of b. The DevTools connection breaks as
// Chromium dies, a moment before rod's launcher reports the exit, so an
// error that is no JobError waits up to lossGrace for the process to be
// gone.
func (b *browser) diedDuring(renderCtx context.Context, err error) bool {
	if b.isLost() || errors.Is(context.Cause(renderCtx), errBrowserLost) {
		return true
	}
	var jobErr *engine.JobError
	deadline := time.Now().Add(lossGrace)
	for {
		if b.processGone() {
			return true
		}
		if errors.As(err, &jobErr) || time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lossGrace bounds the wait of diedDuring.
const lossGrace = 500 * time.Millisecond

// processGone reports whether the Chromium browser process has exited,
// whether or not its parent has waited for it yet. Without /proc it
// reports false.
func (b *browser) processGone() bool {
	stat, err := readProcStat(b.pid)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) && procMounted()
	}
	return stat.state == 'Z' || stat.state == 'X'
}

// lostReason returns why b can no longer render, for error messages.
func (b *browser) lostReason() string {
	if reason := b.lost.Load(); reason != nil {
		return *reason
	}
	return "exited"
}

// close stops Chromium and removes its user data dir. With polite, it
// first sends Browser.close and waits up to stopTimeout for the process to
// exit. If the process still runs, or polite is false, it kills Chromium's
// process group. Then it sweeps what is left of the group (see sweepGroup).
// It returns an error only if a Chromium process may remain.
func (b *browser) close(polite bool) error {
	if b.pool != nil {
		b.pool.close(polite)
	}
	exited := b.hasExited()
	if polite && !exited && b.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		// The connection often closes before the response arrives, so the
		// error means nothing. The wait on exited below is the check.
		_ = proto.BrowserClose{}.Call(b.session(ctx, ""))
		cancel()
		exited = b.waitExit(stopTimeout)
	}

	var err error
	if !exited {
		killGroup(b.pgrp)
		if !b.waitExit(stopTimeout) {
			err = fmt.Errorf("chromium (pid %d) did not exit after SIGKILL within %s", b.pid, stopTimeout)
		}
	}
	sweepGroup(b.pgrp, stopTimeout)

	if b.cancel != nil {
		b.cancel()
	}
	if b.ws != nil {
		_ = b.ws.Close()
	}
	if rmErr := os.RemoveAll(b.dataDir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("removing the Chromium user data dir failed: %w", rmErr))
	}
	return err
}

// waitExit reports whether Chromium exits within d.
func (b *browser) waitExit(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-b.exited:
		return true
	case <-timer.C:
		return false
	}
}

package outbound

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"
	"github.com/go-rod/rod/lib/utils"
)

const chromiumBin = "/usr/bin/chromium"

// webrtcPolicyFlag keeps WebRTC from sending UDP outside the proxy.
const webrtcPolicyFlag = "webrtc-ip-handling-policy"

// requireChromium skips the test when Chromium is not installed, except in
// CI (the CI variable set), where a missing Chromium must fail the run.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s is missing; install Chromium to run this test", chromiumBin)
		}
		t.Fatalf("%s is missing in CI: %v", chromiumBin, err)
	}
}

// launchChromium starts a headless Chromium that sends everything through
// proxyURL, with the flags that the renderer should use. withWebRTCPolicy
// false leaves out the WebRTC flag, for the control test that shows why
// it is needed.
func launchChromium(t *testing.T, proxyURL string, withWebRTCPolicy bool) *rod.Browser {
	t.Helper()
	l := launcher.New().
		Bin(chromiumBin).
		Headless(true).
		NoSandbox(os.Geteuid() == 0).
		Leakless(false).
		Set("disable-gpu").
		Set("no-first-run").
		Set("disable-background-networking").
		Set("disable-component-update").
		Set("disable-sync").
		Set("disable-default-apps").
		Set("proxy-server", proxyURL).
		Set("proxy-bypass-list", "<-loopback>")
	if withWebRTCPolicy {
		l.Set(webrtcPolicyFlag, "disable_non_proxied_udp")
	}
	controlURL, err := l.Launch()
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	b := rod.New().ControlURL(controlURL).Logger(utils.LoggerQuiet)
	if err := b.Connect(); err != nil {
		l.Kill()
		l.Cleanup()
		t.Fatalf("connecting to Chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		l.Kill()
		l.Cleanup()
	})
	return b
}

// openContextPage opens a tab in a new browser context. A non-empty
// proxyURL becomes the context's own proxy, as the renderer does per job.
func openContextPage(t *testing.T, b *rod.Browser, proxyURL string) *rod.Page {
	t.Helper()
	create := proto.TargetCreateBrowserContext{DisposeOnDetach: true}
	if proxyURL != "" {
		create.ProxyServer = proxyURL
		create.ProxyBypassList = "<-loopback>"
	}
	bc, err := create.Call(b)
	if err != nil {
		t.Fatalf("Target.createBrowserContext: %v", err)
	}
	target, err := proto.TargetCreateTarget{URL: "about:blank", BrowserContextID: bc.BrowserContextID}.Call(b)
	if err != nil {
		t.Fatalf("Target.createTarget: %v", err)
	}
	p, err := b.PageFromTarget(target.TargetID)
	if err != nil {
		t.Fatalf("attaching to the tab: %v", err)
	}
	return p.Timeout(30 * time.Second)
}

// udpProbe counts the datagrams that reach a loopback UDP socket.
type udpProbe struct {
	conn    net.PacketConn
	packets atomic.Int64
}

func startUDPProbe(t *testing.T) *udpProbe {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &udpProbe{conn: conn}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
			p.packets.Add(1)
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return p
}

func (p *udpProbe) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// vector is one way a page reaches an internal address, with a probe of
// its own, so that a refusal or a connection shows which way it was.
type vector struct {
	name string
	// html is a fragment of the page; %d is the probe's port.
	html  string
	probe *probe
}

// attackVectors are the ways a page tries to reach internal listeners.
var attackVectors = []vector{
	{name: "img", html: `<img src="http://127.0.0.1:%d/pixel.png">`},
	{name: "img decimal host", html: `<img src="http://2130706433:%d/pixel.png">`},
	{name: "iframe localhost", html: `<iframe src="http://localhost:%d/"></iframe>`},
	{name: "fetch http", html: `<script>fetch("http://127.0.0.1:%d/fetch").catch(() => {})</script>`},
	{name: "fetch https", html: `<script>fetch("https://127.0.0.1:%d/fetch").catch(() => {})</script>`},
	{name: "websocket ws", html: `<script>new WebSocket("ws://127.0.0.1:%d/ws").onerror = () => {}</script>`},
	{name: "websocket wss", html: `<script>new WebSocket("wss://127.0.0.1:%d/ws").onerror = () => {}</script>`},
	{name: "meta refresh", html: `<iframe src="/refresh?port=%d"></iframe>`},
	{name: "redirect", html: `<img src="/redirect?port=%d">`},
	{name: "worker fetch", html: `<script>new Worker(URL.createObjectURL(new Blob(
		['fetch("http://127.0.0.1:%d/worker").catch(() => {})'], {type: "text/javascript"})))</script>`},
	{name: "beacon", html: `<script>navigator.sendBeacon("http://127.0.0.1:%d/beacon", "x")</script>`},
	{name: "event source", html: `<script>new EventSource("http://127.0.0.1:%d/events").onerror = function () { this.close() }</script>`},
}

// webrtcHTML gathers ICE candidates against a STUN and a TURN server on
// the UDP probe, and a TURN server over TCP on the TCP probe.
const webrtcHTML = `<script>
const pc = new RTCPeerConnection({iceServers: [
	{urls: "stun:127.0.0.1:%[1]d"},
	{urls: "turn:127.0.0.1:%[1]d?transport=udp", username: "u", credential: "p"},
	{urls: "turn:127.0.0.1:%[2]d?transport=tcp", username: "u", credential: "p"},
]});
pc.createDataChannel("probe");
pc.createOffer().then(offer => pc.setLocalDescription(offer));
</script>`

// attackFixture serves the attacker's page, the one target that the guard
// allows, and watches the internal listeners the page aims at.
type attackFixture struct {
	server  *httptest.Server
	vectors []vector
	udp     *udpProbe
	// turnTCP stands for a TURN server reached over TCP.
	turnTCP *probe
}

func newAttackFixture(t *testing.T) *attackFixture {
	t.Helper()
	f := &attackFixture{udp: startUDPProbe(t), turnTCP: startProbe(t)}
	for _, v := range attackVectors {
		v.probe = startProbe(t)
		f.vectors = append(f.vectors, v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var page strings.Builder
		page.WriteString("<!doctype html><html><body><h1>attack page</h1>\n")
		for _, v := range f.vectors {
			fmt.Fprintf(&page, v.html+"\n", v.probe.port())
		}
		fmt.Fprintf(&page, webrtcHTML, f.udp.port(), f.turnTCP.port())
		page.WriteString("</body></html>")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page.String())
	})
	mux.HandleFunc("/refresh", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<meta http-equiv="refresh" content="0;url=http://127.0.0.1:%s/refreshed">`, r.URL.Query().Get("port"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:"+r.URL.Query().Get("port")+"/redirected", http.StatusFound)
	})
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

// refusalSet collects refusals by target, for tests that wait for them.
type refusalSet struct {
	mu      sync.Mutex
	targets map[string]int
}

func (s *refusalSet) hook(host, _, _ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.targets == nil {
		s.targets = map[string]int{}
	}
	s.targets[host]++
}

func (s *refusalSet) has(target string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.targets[target] > 0
}

// expectedTarget is the host:port that Chromium requests from the proxy in
// a vector. Chromium writes IP hosts in canonical form and keeps names.
func expectedTarget(v vector) string {
	if strings.Contains(v.html, "localhost") {
		return fmt.Sprintf("localhost:%d", v.probe.port())
	}
	return fmt.Sprintf("127.0.0.1:%d", v.probe.port())
}

// loadAttackPage loads the fixture's page in page and waits until the
// proxy has refused every vector, or 20 seconds have passed.
func loadAttackPage(t *testing.T, page *rod.Page, f *attackFixture, refused *refusalSet) {
	t.Helper()
	if err := page.Navigate(f.server.URL + "/"); err != nil {
		t.Fatalf("loading the attack page: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, v := range f.vectors {
			done = done && refused.has(expectedTarget(v))
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Late requests, such as ICE retries, get a moment to arrive.
	time.Sleep(time.Second)
}

// checkNothingReached fails for every internal listener that accepted a
// connection and every vector the proxy did not see refused.
func checkNothingReached(t *testing.T, f *attackFixture, refused *refusalSet) {
	t.Helper()
	for _, v := range f.vectors {
		if n := v.probe.conns.Load(); n != 0 {
			t.Errorf("%s: the internal listener accepted %d connections, want 0", v.name, n)
		}
		if !refused.has(expectedTarget(v)) {
			t.Errorf("%s: the proxy refused no request to %s; the page did not try it, or it went around the proxy", v.name, expectedTarget(v))
		}
	}
	if n := f.turnTCP.conns.Load(); n != 0 {
		t.Errorf("WebRTC TURN over TCP: the internal listener accepted %d connections, want 0", n)
	}
	if n := f.udp.packets.Load(); n != 0 {
		t.Errorf("WebRTC STUN/TURN over UDP: the internal socket received %d datagrams, want 0", n)
	}
}

// A page that the guard allows tries every way to reach internal
// listeners. None is reached, and the proxy counts the refusals. The page
// runs in a browser context with its own session proxy, as the renderer
// does per job, and in the default context, which uses --proxy-server.
func TestChromiumReachesNoInternalListener(t *testing.T) {
	requireChromium(t)
	// One fixture per subtest, so that each waits for refusals of its own
	// listeners' ports.
	sessionFixture, defaultFixture := newAttackFixture(t), newAttackFixture(t)
	allow := []string{sessionFixture.server.Listener.Addr().String(), defaultFixture.server.Listener.Addr().String()}
	g, err := New(Config{Allow: allow}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	mainRefusals := &refusalSet{}
	p, err := g.StartProxy(t.Context(), WithOnRefused(mainRefusals.hook))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := launchChromium(t, p.URL(), true)

	t.Run("session proxy", func(t *testing.T) {
		f := sessionFixture
		jobRefusals := &refusalSet{}
		session, err := p.NewSession("job-1", jobRefusals.hook)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		before := p.Refused()

		loadAttackPage(t, openContextPage(t, b, session.URL()), f, jobRefusals)
		checkNothingReached(t, f, jobRefusals)
		if session.Refused() < int64(len(f.vectors)) {
			t.Errorf("session Refused() = %d, want at least %d", session.Refused(), len(f.vectors))
		}
		if got := p.Refused() - before; got != session.Refused() {
			t.Errorf("proxy counted %d refusals during the job, session %d: want the same", got, session.Refused())
		}
		checkWebSocketTunneled(t, f, session.Refusals())
	})

	t.Run("default proxy", func(t *testing.T) {
		f := defaultFixture
		before := p.Refused()
		page, err := b.Page(proto.TargetCreateTarget{URL: "about:blank"})
		if err != nil {
			t.Fatal(err)
		}
		loadAttackPage(t, page.Timeout(30*time.Second), f, mainRefusals)
		checkNothingReached(t, f, mainRefusals)
		if got := p.Refused() - before; got < int64(len(f.vectors)) {
			t.Errorf("proxy counted %d refusals for the page, want at least %d", got, len(f.vectors))
		}
	})
}

// checkWebSocketTunneled checks that Chromium sent the ws:// WebSocket to
// the proxy as a CONNECT tunnel, not as a plain http request.
func checkWebSocketTunneled(t *testing.T, f *attackFixture, refusals []Refusal) {
	t.Helper()
	for _, v := range f.vectors {
		if v.name != "websocket ws" {
			continue
		}
		for _, r := range refusals {
			if r.Target == expectedTarget(v) && r.Method != http.MethodConnect {
				t.Errorf("the ws:// WebSocket reached the proxy as %s, want CONNECT", r.Method)
			}
		}
	}
}

// Without --webrtc-ip-handling-policy=disable_non_proxied_udp, WebRTC
// sends UDP straight to an internal address: the control case that shows
// the UDP probe works and why the renderer needs the flag.
func TestChromiumWebRTCLeaksUDPWithoutPolicy(t *testing.T) {
	requireChromium(t)
	udp := startUDPProbe(t)
	turnTCP := startProbe(t)
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!doctype html>"+webrtcHTML, udp.port(), turnTCP.port())
	}))
	defer fixture.Close()
	g, err := New(Config{Allow: []string{fixture.Listener.Addr().String()}}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.StartProxy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := launchChromium(t, p.URL(), false)
	page := openContextPage(t, b, "")
	if err := page.Navigate(fixture.URL); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for udp.packets.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if udp.packets.Load() == 0 {
		t.Errorf("no WebRTC datagram arrived without the policy flag; the UDP probe or the page is broken, so the no-leak test proves nothing")
	}
}

// A render whose page URL names an internal service fails (https) or shows
// the proxy's 403 (http), and the internal service accepts no connection.
func TestChromiumNavigationToInternalService(t *testing.T) {
	requireChromium(t)
	internal := startProbe(t)
	g, err := New(Config{}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.StartProxy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := launchChromium(t, p.URL(), true)
	session, err := p.NewSession("job-nav", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	page := openContextPage(t, b, session.URL())

	for _, target := range []string{
		fmt.Sprintf("https://127.0.0.1:%d/", internal.port()),
		fmt.Sprintf("https://localhost:%d/", internal.port()),
	} {
		err := page.Navigate(target)
		if err == nil || !strings.Contains(err.Error(), "ERR_TUNNEL_CONNECTION_FAILED") {
			t.Errorf("navigating to %s: error = %v, want net::ERR_TUNNEL_CONNECTION_FAILED", target, err)
		}
	}

	target := fmt.Sprintf("http://127.0.0.1:%d/admin?key=1", internal.port())
	if err := page.Navigate(target); err != nil {
		t.Fatalf("navigating to %s: %v; Chromium shows a proxy's 403 as the page", target, err)
	}
	if err := page.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(target)
	if denied := session.RefusedURL(u); denied == nil {
		t.Errorf("RefusedURL(%s) = nil, want the refusal that the renderer turns into a failed render", target)
	}
	text, err := page.Eval(`() => document.body.innerText`)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(text.Value.Str()); got != strings.TrimSpace(refusedBody) {
		t.Errorf("page text = %q, want the proxy's 403 body %q", got, refusedBody)
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
	targets := []string{}
	for _, r := range session.Refusals() {
		targets = append(targets, r.Method+" "+r.Target)
	}
	if !slices.Contains(targets, fmt.Sprintf("CONNECT localhost:%d", internal.port())) {
		t.Errorf("session refusals = %q, want CONNECT localhost:%d among them", targets, internal.port())
	}
}

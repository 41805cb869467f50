package outbound

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// refusalLog collects the calls of an OnRefused hook.
type refusalLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *refusalLog) hook(host, addr, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, host+" "+addr+" "+reason)
}

func (l *refusalLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// startTestProxy starts a proxy whose guard allows exactly the given
// host:port targets and dials for real, which the tests aim only at their
// own loopback listeners.
func startTestProxy(t *testing.T, allow ...string) (*Proxy, *refusalLog) {
	t.Helper()
	g, err := New(Config{Allow: allow}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	log := &refusalLog{}
	p, err := g.StartProxy(t.Context(), WithOnRefused(log.hook))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, log
}

// sendConnect sends a CONNECT for target to the proxy at proxyAddr and
// returns the status code with the open connection and its reader.
func sendConnect(t *testing.T, proxyAddr, target string) (int, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("reading the answer to CONNECT %s: %v", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp.StatusCode, conn, br
}

// proxyClient returns an HTTP client that sends every request through the
// proxy at proxyURL.
func proxyClient(t *testing.T, proxyURL string) *http.Client {
	t.Helper()
	u, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{Proxy: http.ProxyURL(u)}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport, Timeout: 10 * time.Second}
}

// startEcho starts a loopback TCP server that echoes what it reads.
func startEcho(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func TestProxyConnectToInternalRefused(t *testing.T) {
	internal := startProbe(t)
	fixture := startEcho(t)
	p, log := startTestProxy(t, fixture.Addr().String())

	status, _, _ := sendConnect(t, p.Addr(), internal.addr())
	if status != http.StatusForbidden {
		t.Errorf("CONNECT %s status = %d, want 403", internal.addr(), status)
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
	if n := p.Refused(); n != 1 {
		t.Errorf("Refused() = %d, want 1", n)
	}
	want := internal.addr() + " " + internal.addr() + " loopback address"
	if calls := log.all(); len(calls) != 1 || calls[0] != want {
		t.Errorf("OnRefused calls = %q, want [%q]", calls, want)
	}
	refusals := p.main.Refusals()
	if len(refusals) != 1 || refusals[0].Method != http.MethodConnect || refusals[0].Target != internal.addr() {
		t.Errorf("Refusals() = %+v, want one CONNECT to %s", refusals, internal.addr())
	}
}

func TestProxyPlainGetToInternalRefused(t *testing.T) {
	internal := startProbe(t)
	fixture := startEcho(t)
	p, _ := startTestProxy(t, fixture.Addr().String())
	client := proxyClient(t, p.URL())

	resp, err := client.Get("http://" + internal.addr() + "/secret?token=abc")
	if err != nil {
		t.Fatalf("GET through the proxy: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET status = %d, want 403", resp.StatusCode)
	}
	if string(body) != refusedBody {
		t.Errorf("GET body = %q, want %q", body, refusedBody)
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
	if n := p.Refused(); n != 1 {
		t.Errorf("Refused() = %d, want 1", n)
	}
}

// Every way of writing an internal target is refused before any connection.
func TestProxyRefusesEveryForm(t *testing.T) {
	internal := startProbe(t)
	p, _ := startTestProxy(t)
	port := internal.port()
	targets := []string{
		fmt.Sprintf("localhost:%d", port),
		fmt.Sprintf("LocalHost:%d", port),
		fmt.Sprintf("127.1:%d", port),
		fmt.Sprintf("2130706433:%d", port),
		fmt.Sprintf("0x7f.1:%d", port),
		fmt.Sprintf("0177.0.0.1:%d", port),
		fmt.Sprintf("[::1]:%d", port),
		fmt.Sprintf("[::ffff:127.0.0.1]:%d", port),
		fmt.Sprintf("[::ffff:7f00:1]:%d", port),
		fmt.Sprintf("[64:ff9b::7f00:1]:%d", port),
		fmt.Sprintf("[2002:7f00:1::]:%d", port),
		fmt.Sprintf("%s:%d", teredoLoopbackClient, port),
		fmt.Sprintf("0.0.0.0:%d", port),
	}
	for _, target := range targets {
		if status, _, _ := sendConnect(t, p.Addr(), target); status != http.StatusForbidden {
			t.Errorf("CONNECT %s status = %d, want 403", target, status)
		}
	}
	client := proxyClient(t, p.URL())
	for _, target := range targets[:6] {
		resp, err := client.Get("http://" + target + "/")
		if err != nil {
			t.Errorf("GET http://%s/ through the proxy: %v", target, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET http://%s/ status = %d, want 403", target, resp.StatusCode)
		}
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
}

func TestProxyForwardsAllowedFixture(t *testing.T) {
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Connection") != "" || r.Header.Get("X-Forwarded-For") != "" {
			http.Error(w, "proxy headers leaked", http.StatusTeapot)
			return
		}
		fmt.Fprintf(w, "fixture %s", r.URL.Path)
	}))
	defer fixture.Close()
	p, log := startTestProxy(t, fixture.Listener.Addr().String())
	client := proxyClient(t, p.URL())

	resp, err := client.Get(fixture.URL + "/page")
	if err != nil {
		t.Fatalf("GET %s/page through the proxy: %v", fixture.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "fixture /page" {
		t.Errorf("GET = %d %q, want 200 %q", resp.StatusCode, body, "fixture /page")
	}
	if calls := log.all(); len(calls) != 0 {
		t.Errorf("OnRefused calls = %q, want none", calls)
	}
}

func TestProxyTunnelsAllowedFixture(t *testing.T) {
	echo := startEcho(t)
	p, _ := startTestProxy(t, echo.Addr().String())

	status, conn, br := sendConnect(t, p.Addr(), echo.Addr().String())
	if status != http.StatusOK {
		t.Fatalf("CONNECT %s status = %d, want 200", echo.Addr(), status)
	}
	fmt.Fprint(conn, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Errorf("echo through the tunnel = %q, %v; want %q", line, err, "ping\n")
	}
}

// An https request goes through a CONNECT tunnel, as Chromium's do.
func TestProxyTunnelsTLS(t *testing.T) {
	fixture := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "over tls")
	}))
	defer fixture.Close()
	p, _ := startTestProxy(t, fixture.Listener.Addr().String())

	proxyURL, _ := url.Parse(p.URL())
	transport := fixture.Client().Transport.(*http.Transport).Clone()
	transport.Proxy = http.ProxyURL(proxyURL)
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport, Timeout: 10 * time.Second}).Get(fixture.URL)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", fixture.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "over tls" {
		t.Errorf("body = %q, want %q", body, "over tls")
	}
	if resp.TLS == nil {
		t.Errorf("the response did not come over TLS")
	}
}

func TestProxyRejectsOriginFormRequests(t *testing.T) {
	p, _ := startTestProxy(t)
	resp, err := http.Get(p.URL() + "/")
	if err != nil {
		t.Fatalf("GET %s/: %v", p.URL(), err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form GET status = %d, want 400", resp.StatusCode)
	}
}

func TestProxySessionAttributesRefusals(t *testing.T) {
	internal := startProbe(t)
	p, proxyLog := startTestProxy(t)
	jobLog := &refusalLog{}
	s, err := p.NewSession("job-1", jobLog.hook)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() == p.Addr() {
		t.Fatalf("the session listens on the proxy's own address %s", s.Addr())
	}

	if status, _, _ := sendConnect(t, s.Addr(), internal.addr()); status != http.StatusForbidden {
		t.Errorf("CONNECT through the session: status = %d, want 403", status)
	}
	client := proxyClient(t, s.URL())
	resp, err := client.Get("http://localhost:" + fmt.Sprint(internal.port()) + "/")
	if err != nil {
		t.Fatalf("GET through the session: %v", err)
	}
	resp.Body.Close()

	if n := s.Refused(); n != 2 {
		t.Errorf("session Refused() = %d, want 2", n)
	}
	if n := p.Refused(); n != 2 {
		t.Errorf("proxy Refused() = %d, want 2 (all sessions)", n)
	}
	if n := len(jobLog.all()); n != 2 {
		t.Errorf("session hook called %d times, want 2", n)
	}
	if n := len(proxyLog.all()); n != 2 {
		t.Errorf("proxy hook called %d times, want 2", n)
	}
	if n := p.main.Refused(); n != 0 {
		t.Errorf("main listener Refused() = %d, want 0", n)
	}

	u, _ := url.Parse("http://localhost:" + fmt.Sprint(internal.port()) + "/page?x=1")
	denied := s.RefusedURL(u)
	if denied == nil {
		t.Fatalf("RefusedURL(%s) = nil, want the refusal", u)
	}
	if !strings.Contains(denied.Error(), "localhost resolves to") {
		t.Errorf("RefusedURL(%s) = %q, want it to say what localhost resolves to", u, denied)
	}
	other, _ := url.Parse("http://public.example/")
	if denied := s.RefusedURL(other); denied != nil {
		t.Errorf("RefusedURL(%s) = %v, want nil", other, denied)
	}

	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Errorf("Session.Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("the closed session still accepts connections on %s", addr)
	}
}

func TestProxyCloseEndsTunnels(t *testing.T) {
	echo := startEcho(t)
	p, _ := startTestProxy(t, echo.Addr().String())
	status, conn, _ := sendConnect(t, p.Addr(), echo.Addr().String())
	if status != http.StatusOK {
		t.Fatalf("CONNECT status = %d, want 200", status)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
		t.Errorf("reading from the tunnel after Close: %v, want the connection closed", err)
	}
	if _, err := p.NewSession("late", nil); err == nil {
		t.Errorf("NewSession after Close succeeded, want an error")
	}
}

func TestProxyStopsWithContext(t *testing.T) {
	g, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	p, err := g.StartProxy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the proxy still accepts connections after its context ended")
}

// A process of another user gets no service from the proxy. The test
// needs root, to start a shell as the user nobody (65534).
func TestProxyRejectsOtherUsers(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs Linux and root to run a client as another user")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash for its /dev/tcp client")
	}
	echo := startEcho(t)
	p, _ := startTestProxy(t, echo.Addr().String())
	if p.checkPeer == nil {
		t.Fatal("the peer check is off on Linux")
	}
	host, port, _ := net.SplitHostPort(p.Addr())
	// The shell prints "connected" once its TCP connection is open, so an
	// empty answer after it means the proxy closed the connection, not
	// that the shell failed to start.
	script := fmt.Sprintf(`exec 3<>/dev/tcp/%s/%s && echo connected && printf 'CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n' >&3 && timeout 5 head -c 12 <&3`, host, port, echo.Addr())

	run := func(asNobody bool) string {
		cmd := exec.Command(bash, "-c", script)
		cmd.Dir = "/"
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		out, _ := cmd.Output()
		return string(out)
	}
	if got := run(false); got != "connected\nHTTP/1.1 200" {
		t.Fatalf("as this process's user the shell printed %q, want %q", got, "connected\nHTTP/1.1 200")
	}
	if got := run(true); got != "connected\n" {
		t.Errorf("as user nobody the shell printed %q, want %q: the proxy must close the connection without a response", got, "connected\n")
	}
}

func TestLogLimiter(t *testing.T) {
	var l logLimiter
	start := time.Unix(1000, 0)
	for i := range logBurst {
		if ok, _ := l.allow(start); !ok {
			t.Fatalf("line %d in the first window suppressed, want it logged", i+1)
		}
	}
	for range 5 {
		if ok, _ := l.allow(start.Add(time.Second)); ok {
			t.Fatalf("a line over the burst was logged, want it suppressed")
		}
	}
	ok, suppressed := l.allow(start.Add(logWindow))
	if !ok {
		t.Fatalf("the first line of the next window was suppressed")
	}
	if suppressed != 5 {
		t.Errorf("suppressed = %d, want 5", suppressed)
	}
}

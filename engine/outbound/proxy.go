package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the proxy's HTTP server. Tunnels and forwarded responses have
// no time limit of their own: the render's timeout bounds the page.
const (
	proxyReadHeaderTimeout = 30 * time.Second
	proxyIdleTimeout       = 2 * time.Minute
)

// maxRecordedRefusals bounds the refusals a Session keeps for Refusals.
// Refused counts every one.
const maxRecordedRefusals = 100

// refusedBody is the body of a 403. It names no address: for a plain HTTP
// request the page displays it, and a document built from a client's page
// must not tell the client what an internal name resolves to.
const refusedBody = "Presso's outbound guard refused this request.\n"

// Refusal is one request the proxy refused.
type Refusal struct {
	// Method is CONNECT for a tunnel (https, ws, wss) or the method of a
	// plain http request.
	Method string
	// Target is the host:port the browser requested.
	Target string
	// Err is the guard's decision; Err.Error() names the refused address.
	Err *DeniedError
}

// Proxy is an HTTP forward proxy for Chromium that connects only where the
// guard allows. It tunnels CONNECT requests (https, wss, and ws, which
// Chromium also tunnels) and forwards absolute-form http requests. Every
// connection goes through Guard.DialContext, so the address is checked
// after the name is looked up, when the connection is made.
//
// It listens on 127.0.0.1 only. On Linux it also accepts only connections
// from sockets owned by its own user ID, read from /proc/net/tcp, so that
// other users' processes on the machine cannot use it as a relay. Where
// /proc does not show the owner, StartProxy logs a warning and runs
// without that check.
type Proxy struct {
	guard     *Guard
	logger    *slog.Logger
	onRefused func(host, addr, reason string)
	forward   *httputil.ReverseProxy
	transport *http.Transport
	// checkPeer is nil when the peer check is off.
	checkPeer func(net.Conn) error
	refused   atomic.Int64
	logLimit  logLimiter
	main      *Session

	// mu guards the fields below.
	mu       sync.Mutex
	stopCtx  func() bool
	sessions map[*Session]struct{}
	closed   bool
}

// ProxyOption changes how StartProxy starts a Proxy.
type ProxyOption func(*Proxy)

// WithOnRefused makes the proxy call fn for every refused request, in the
// goroutine serving it. addr is empty when the host itself was refused.
func WithOnRefused(fn func(host, addr, reason string)) ProxyOption {
	return func(p *Proxy) { p.onRefused = fn }
}

// StartProxy starts a proxy on 127.0.0.1 on a free port. It runs until
// Close is called or ctx is done. Give it to Chromium with
// --proxy-server=<URL> and --proxy-bypass-list=<-loopback>; the second flag
// removes Chromium's built-in exception for loopback addresses, which
// would otherwise reach localhost without the proxy.
func (g *Guard) StartProxy(ctx context.Context, opts ...ProxyOption) (*Proxy, error) {
	p := &Proxy{guard: g, logger: g.logger, sessions: map[*Session]struct{}{}}
	for _, opt := range opts {
		opt(p)
	}

	p.transport = g.HTTPTransport()
	// Pass the browser's Accept-Encoding and the server's encoded body
	// through unchanged.
	p.transport.DisableCompression = true
	p.forward = &httputil.ReverseProxy{
		// The absolute-form request already names its target, so the
		// outgoing request stays as it is. With Rewrite set, ReverseProxy
		// removes hop-by-hop and X-Forwarded-* headers and adds none.
		Rewrite:       func(*httputil.ProxyRequest) {},
		Transport:     p.transport,
		FlushInterval: -1,
		ErrorHandler:  p.forwardError,
		ErrorLog:      slog.NewLogLogger(p.logger.Handler(), slog.LevelDebug),
	}

	check, err := newPeerCheck()
	if err == nil {
		err = selfTestPeerCheck(check)
	}
	if err != nil {
		p.logger.Warn("outbound proxy: the check of the connecting process's user is off, so every local process can use the proxy", "error", err)
	} else {
		p.checkPeer = check
	}

	main, err := p.NewSession("", nil)
	if err != nil {
		p.transport.CloseIdleConnections()
		return nil, err
	}
	p.main = main
	stop := context.AfterFunc(ctx, func() { _ = p.Close() })
	p.mu.Lock()
	p.stopCtx = stop
	p.mu.Unlock()
	p.logger.Info("outbound proxy started", "addr", main.Addr(), "peer_check", p.checkPeer != nil)
	return p, nil
}

// Addr returns the host:port the proxy listens on, such as 127.0.0.1:41005.
func (p *Proxy) Addr() string { return p.main.Addr() }

// URL returns the value of Chromium's --proxy-server flag, such as
// http://127.0.0.1:41005.
func (p *Proxy) URL() string { return p.main.URL() }

// Refused returns the number of requests refused so far, over all sessions.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

// Close stops the proxy and every session, and closes their connections.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	stop := p.stopCtx
	sessions := make([]*Session, 0, len(p.sessions))
	for s := range p.sessions {
		sessions = append(sessions, s)
	}
	p.mu.Unlock()

	if stop != nil {
		stop()
	}
	var errs []error
	for _, s := range sessions {
		errs = append(errs, s.Close())
	}
	p.transport.CloseIdleConnections()
	return errors.Join(errs...)
}

// Session is a listener of its own on the proxy, so that refusals can be
// traced to one job: give its URL as the proxyServer of the job's browser
// context (Target.createBrowserContext), with proxyBypassList <-loopback.
type Session struct {
	proxy     *Proxy
	label     string
	onRefused func(host, addr, reason string)
	listener  net.Listener
	server    *http.Server
	refused   atomic.Int64

	mu       sync.Mutex
	refusals []Refusal
	// failures keeps the first network error of each target, so that a
	// page shown as the proxy's 502 can be reported as the failure it is.
	failures map[string]error
	tunnels  map[net.Conn]struct{}
	closed   bool
}

// NewSession opens another listener on 127.0.0.1 that proxies like the
// main one and calls onRefused (if not nil) for each refusal it makes, as
// well as the proxy's own hook. label names the session in log lines,
// such as the job ID. Close the session when the job ends.
func (p *Proxy) NewSession(label string, onRefused func(host, addr, reason string)) (*Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("outbound proxy is closed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("outbound proxy: listening on 127.0.0.1 failed: %w", err)
	}
	if p.checkPeer != nil {
		ln = &peerCheckedListener{Listener: ln, proxy: p}
	}
	s := &Session{proxy: p, label: label, onRefused: onRefused, listener: ln, tunnels: map[net.Conn]struct{}{}}
	s.server = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: proxyReadHeaderTimeout,
		IdleTimeout:       proxyIdleTimeout,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelDebug),
	}
	p.sessions[s] = struct{}{}
	go func() {
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.logger.Error("outbound proxy stopped serving", "addr", ln.Addr().String(), "session", label, "error", err)
		}
	}()
	return s, nil
}

// Addr returns the host:port the session listens on.
func (s *Session) Addr() string { return s.listener.Addr().String() }

// URL returns the session's proxy URL, such as http://127.0.0.1:41006.
func (s *Session) URL() string { return "http://" + s.Addr() }

// Refused returns the number of requests the session refused.
func (s *Session) Refused() int64 { return s.refused.Load() }

// Refusals returns the first 100 refusals of the session, oldest first.
func (s *Session) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refusals...)
}

// RefusedURL returns the refusal of a request to u's host and port, or nil
// if the session refused none. After a navigation that did not fail, a
// refusal for the main frame's final URL means that the page shows the
// proxy's 403 instead of the document: Chromium displays the 403 of a
// plain http request like any other response.
func (s *Session) RefusedURL(u *url.URL) *DeniedError {
	target := targetOf(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.refusals {
		if strings.EqualFold(r.Target, target) {
			return r.Err
		}
	}
	return nil
}

// FailedURL returns the network error of a connection to u's host and
// port that the session could not open, or nil. A page whose main document
// failed this way shows the proxy's 502 instead of an error.
func (s *Session) FailedURL(u *url.URL) error {
	target := targetOf(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, err := range s.failures {
		if strings.EqualFold(t, target) {
			return err
		}
	}
	return nil
}

// Close stops the session's listener and closes its connections, tunnels
// included.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	tunnels := s.tunnels
	s.tunnels = nil
	s.mu.Unlock()

	err := s.server.Close()
	for conn := range tunnels {
		_ = conn.Close()
	}
	s.proxy.mu.Lock()
	delete(s.proxy.sessions, s)
	s.proxy.mu.Unlock()
	return err
}

// ServeHTTP serves one request that Chromium sent to the proxy.
func (s *Session) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The host only: paths and query strings can carry secrets.
	s.proxy.logger.Debug("outbound proxy request", "method", r.Method, "host", r.Host, "session", s.label)
	switch {
	case r.Method == http.MethodConnect:
		s.tunnel(w, r)
	case r.URL.IsAbs() && r.URL.Scheme == "http":
		ctx := context.WithValue(r.Context(), sessionKey{}, s)
		s.proxy.forward.ServeHTTP(w, r.WithContext(ctx))
	default:
		http.Error(w, "This is a forward proxy: send CONNECT or an absolute-form http request.", http.StatusBadRequest)
	}
}

type sessionKey struct{}

// tunnel serves a CONNECT request: it connects to the target through the
// guard and then copies bytes both ways until either side closes.
func (s *Session) tunnel(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if _, _, err := net.SplitHostPort(target); err != nil {
		http.Error(w, "CONNECT needs a host:port target.", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dialTimeout)
	upstream, err := s.proxy.guard.DialContext(ctx, "tcp", target)
	cancel()
	if err != nil {
		s.dialFailed(w, r.Method, target, err)
		return
	}

	hijacker, ok := w.(http.Hijacker)
	if !ok {
		_ = upstream.Close()
		http.Error(w, "The proxy cannot tunnel over this connection.", http.StatusInternalServerError)
		return
	}
	client, buffered, err := hijacker.Hijack()
	if err != nil {
		_ = upstream.Close()
		s.proxy.logger.Debug("outbound proxy: taking over the CONNECT connection failed", "host", target, "session", s.label, "error", err)
		return
	}
	if !s.track(client, upstream) {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	defer s.untrack(client, upstream)

	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// Bytes the client sent after the CONNECT request, which the server
	// had already read, belong to the tunnel.
	if n := buffered.Reader.Buffered(); n > 0 {
		head, _ := buffered.Reader.Peek(n)
		if _, err := upstream.Write(head); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
	// Either side closing ends the tunnel; untrack closes both connections,
	// which stops the other copy.
	<-done
}

// track registers the connections of a tunnel so that Close can end it. It
// returns false if the session is already closed.
func (s *Session) track(conns ...net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	for _, c := range conns {
		s.tunnels[c] = struct{}{}
	}
	return true
}

func (s *Session) untrack(conns ...net.Conn) {
	s.mu.Lock()
	for _, c := range conns {
		delete(s.tunnels, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// forwardError is the ReverseProxy's error handler for absolute-form
// requests.
func (p *Proxy) forwardError(w http.ResponseWriter, r *http.Request, err error) {
	s, _ := r.Context().Value(sessionKey{}).(*Session)
	if s == nil {
		s = p.main
	}
	if r.Context().Err() != nil {
		// Chromium gave up on the request, as it does for the loads that a
		// render stops: no failure of the target to record.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	s.dialFailed(w, r.Method, targetOf(r.URL), err)
}

// targetOf returns the host:port that a request to u connects to.
func targetOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dialFailed writes the response to a request whose connection failed:
// 403 for a refusal, 502 for a network error.
func (s *Session) dialFailed(w http.ResponseWriter, method, target string, err error) {
	var denied *DeniedError
	if errors.As(err, &denied) {
		s.refuse(method, target, denied)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, refusedBody)
		return
	}
	s.proxy.logger.Debug("outbound proxy: connection failed", "host", target, "session", s.label, "error", err)
	s.mu.Lock()
	if s.failures == nil {
		s.failures = map[string]error{}
	}
	if _, seen := s.failures[target]; !seen && len(s.failures) < maxRecordedRefusals {
		s.failures[target] = err
	}
	s.mu.Unlock()
	http.Error(w, "The proxy could not connect to the target.", http.StatusBadGateway)
}

// refuse records, counts, reports and logs a refusal.
func (s *Session) refuse(method, target string, denied *DeniedError) {
	p := s.proxy
	addr := ""
	if denied.Addr.IsValid() {
		addr = denied.Addr.String()
	}
	p.refused.Add(1)
	s.refused.Add(1)
	s.mu.Lock()
	if len(s.refusals) < maxRecordedRefusals {
		s.refusals = append(s.refusals, Refusal{Method: method, Target: target, Err: denied})
	}
	s.mu.Unlock()

	if p.onRefused != nil {
		p.onRefused(target, addr, denied.Reason)
	}
	if s.onRefused != nil {
		s.onRefused(target, addr, denied.Reason)
	}
	if ok, suppressed := p.logLimit.allow(time.Now()); ok {
		p.logger.Warn("outbound request refused", "method", method, "host", target, "addr", addr, "reason", denied.Reason,
			"session", s.label, "suppressed_since_last", suppressed)
	}
}

// peerCheckedListener drops connections that the proxy's peer check
// rejects. The check reads the kernel's TCP socket tables once per
// accepted connection, so its cost grows with the number of sockets on
// the host.
type peerCheckedListener struct {
	net.Listener
	proxy *Proxy
}

func (l *peerCheckedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		err = l.proxy.checkPeer(conn)
		if err == nil {
			return conn, nil
		}
		_ = conn.Close()
		if ok, suppressed := l.proxy.logLimit.allow(time.Now()); ok {
			l.proxy.logger.Warn("outbound proxy: connection from another process rejected",
				"remote", conn.RemoteAddr().String(), "error", err, "suppressed_since_last", suppressed)
		}
	}
}

// Limits of logLimiter: at most logBurst lines per logWindow.
const (
	logWindow = 10 * time.Second
	logBurst  = 20
)

// logLimiter rate-limits the proxy's warnings, because one page can make
// thousands of refused requests.
type logLimiter struct {
	mu         sync.Mutex
	start      time.Time
	count      int
	suppressed int
}

// allow reports whether a line may be logged now, and how many lines were
// suppressed since the last one logged.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= logWindow {
		l.start, l.count = now, 0
	}
	if l.count >= logBurst {
		l.suppressed++
		return false, 0
	}
	l.count++
	suppressed := l.suppressed
	l.suppressed = 0
	return true, suppressed
}

package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host name. *net.Resolver implements
// it; tests give their own.
type Resolver interface {
	// LookupNetIP returns the addresses of host; network is "ip", "ip4" or
	// "ip6".
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection. The guard calls it with a literal ip:port
// that it has already checked, never with a name.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// dialTimeout bounds the connect of one DialContext call, over all the
// addresses of a name.
const dialTimeout = 30 * time.Second

// minAttemptTimeout is the shortest time DialContext gives one address.
const minAttemptTimeout = 2 * time.Second

// Guard decides which addresses outbound connections may reach and dials
// only those. It is safe for concurrent use.
type Guard struct {
	allow    []allowEntry
	resolver Resolver
	dial     DialFunc
	logger   *slog.Logger
}

// Option changes how New builds a Guard.
type Option func(*Guard)

// WithResolver makes the guard look names up with r instead of
// net.DefaultResolver.
func WithResolver(r Resolver) Option {
	return func(g *Guard) { g.resolver = r }
}

// WithDialFunc makes the guard open connections with dial instead of a
// net.Dialer. Tests use it to send checked addresses to their own loopback
// listeners.
func WithDialFunc(dial DialFunc) Option {
	return func(g *Guard) { g.dial = dial }
}

// New returns a guard that allows public addresses and the targets of
// cfg.Allow. A nil logger discards the proxy's log lines.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Guard, error) {
	allow, err := parseAllowList(cfg.Allow)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{allow: allow, resolver: net.DefaultResolver, logger: logger}
	for _, opt := range opts {
		opt(g)
	}
	if g.dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second, ControlContext: controlPinned}
		g.dial = d.DialContext
	}
	return g, nil
}

// DeniedError reports an outbound connection that the guard refused.
type DeniedError struct {
	// Host is the host as requested: a name, or an IP address as written.
	Host string
	// Addr is the refused address and port. It is the zero AddrPort when
	// the request was refused before any address was known, for its
	// scheme or for an invalid host.
	Addr netip.AddrPort
	// Reason is the refused range, such as "loopback address", or why the
	// host or scheme was refused.
	Reason string
}

func (e *DeniedError) Error() string {
	if !e.Addr.IsValid() {
		if e.Host == "" {
			return "outbound request refused: " + e.Reason
		}
		return fmt.Sprintf("outbound request to %s refused: %s", e.Host, e.Reason)
	}
	addr := e.Addr.Addr().String()
	if e.Host == addr || e.Host == "["+addr+"]" {
		return fmt.Sprintf("outbound request to %s refused: %s (allow it with outbound.allow)", e.Addr, e.Reason)
	}
	target := net.JoinHostPort(strings.Trim(e.Host, "[]"), strconv.Itoa(int(e.Addr.Port())))
	verb := "resolves to"
	if _, _, kind := parseHost(e.Host); kind == hostIP {
		verb = "means"
	}
	return fmt.Sprintf("outbound request to %s refused: %s %s %s, %s (allow it with outbound.allow)",
		target, e.Host, verb, addr, withArticle(e.Reason))
}

// withArticle puts "a" or "an" before a reason. Every reason starts with a
// letter that is pronounced as a vowel exactly when it is written as one.
func withArticle(reason string) string {
	if reason != "" && strings.ContainsRune("aeiouAEIOU", rune(reason[0])) {
		return "an " + reason
	}
	return "a " + reason
}

// AllowedScheme reports whether a page may be navigated to u: true only
// for http, https, data and blob. Chromium loads data: and blob: URLs
// without the network. Every other scheme (file, ftp, chrome, view-source,
// javascript, about, ws, …) is refused as a navigation target.
func AllowedScheme(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "data", "blob":
		return true
	}
	return false
}

// CheckURL reports whether the guard would let a request to rawURL through,
// looking its host up once, so that a caller can reject a URL before any
// work starts. Only http and https URLs pass. The check at connect time in
// DialContext still decides: the name may resolve differently by then.
func (g *Guard) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return &DeniedError{Host: u.Host, Reason: fmt.Sprintf("scheme %q is not allowed, only http and https", u.Scheme)}
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("invalid URL %s: the host is missing", redactURL(u))
	}
	portText := u.Port()
	if portText == "" {
		portText = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	port, err := parsePort(portText)
	if err != nil {
		return fmt.Errorf("invalid URL %s: %w", redactURL(u), err)
	}
	_, err = g.resolve(ctx, "tcp", host, port)
	return err
}

// DialContext connects to address, a host:port, if the guard allows it.
// It looks a name up once and refuses the whole name if any of its
// addresses is refused, so that a name that resolves to one public and
// one internal address cannot reach the internal one. Then it connects to the
// checked addresses themselves, one after another until one answers,
// without a second lookup, so that a name whose answer changes between
// the check and the connect (DNS rebinding) cannot slip through.
// Refusals are *DeniedError; network is tcp, tcp4 or tcp6.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("outbound: network %q is not supported, only tcp", network)
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("outbound: invalid address %q: %w", address, err)
	}
	port, err := parsePort(portText)
	if err != nil {
		return nil, fmt.Errorf("outbound: invalid address %q: %w", address, err)
	}
	targets, err := g.resolve(ctx, network, host, port)
	if err != nil {
		return nil, err
	}

	// Each address gets an equal share of dialTimeout, at least
	// minAttemptTimeout, so that an unreachable first address leaves time
	// for the next, as net.Dialer does for names.
	attemptTimeout := max(dialTimeout/time.Duration(len(targets)), minAttemptTimeout)
	var errs []error
	for _, target := range targets {
		attemptCtx, cancel := context.WithTimeout(withPinned(ctx, target), attemptTimeout)
		conn, err := g.dial(attemptCtx, network, target.String())
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// resolve returns the addresses to connect to for host on port, or a
// *DeniedError if host or any of its addresses is refused.
func (g *Guard) resolve(ctx context.Context, network, host string, port uint16) ([]netip.AddrPort, error) {
	addr, name, kind := parseHost(host)
	switch kind {
	case hostInvalid:
		return nil, &DeniedError{Host: host, Reason: "invalid host"}
	case hostIP:
		if err := g.check(host, addr, "", port); err != nil {
			return nil, err
		}
		if !familyMatches(network, addr) {
			return nil, fmt.Errorf("outbound: %s is not an address of network %s", addr, network)
		}
		return []netip.AddrPort{netip.AddrPortFrom(addr.Unmap(), port)}, nil
	}

	addrs, err := g.resolver.LookupNetIP(ctx, lookupNetwork(network), name)
	if err != nil {
		return nil, fmt.Errorf("outbound: looking up %s failed: %w", name, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("outbound: looking up %s returned no address", name)
	}
	matchName := strings.TrimSuffix(name, ".")
	targets := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		// net.Resolver.LookupNetIP can return IPv4 addresses in the
		// IPv4-mapped IPv6 form (seen with Go 1.26 for localhost).
		a = a.Unmap()
		if err := g.check(host, a, matchName, port); err != nil {
			return nil, err
		}
		if familyMatches(network, a) {
			targets = append(targets, netip.AddrPortFrom(a.Unmap(), port))
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("outbound: %s has no address of network %s", name, network)
	}
	return targets, nil
}

// check returns a *DeniedError unless an outbound.allow entry or Classify
// allows addr, reached as name on port.
func (g *Guard) check(host string, addr netip.Addr, name string, port uint16) error {
	for _, e := range g.allow {
		if e.matches(addr, name, port) {
			return nil
		}
	}
	if ok, reason := Classify(addr); !ok {
		return &DeniedError{Host: host, Addr: netip.AddrPortFrom(addr.WithZone(""), port), Reason: reason}
	}
	return nil
}

func lookupNetwork(network string) string {
	switch network {
	case "tcp4":
		return "ip4"
	case "tcp6":
		return "ip6"
	}
	return "ip"
}

func familyMatches(network string, addr netip.Addr) bool {
	switch network {
	case "tcp4":
		return addr.Unmap().Is4()
	case "tcp6":
		return addr.Is6() && !addr.Is4In6()
	}
	return true
}

// pinnedKey carries the checked address of a dial to controlPinned.
type pinnedKey struct{}

func withPinned(ctx context.Context, target netip.AddrPort) context.Context {
	return context.WithValue(ctx, pinnedKey{}, target)
}

// controlPinned runs before the default dialer's connect and fails it
// unless the address is the one the guard checked. The guard always dials
// a literal address, so this holds unless a change to the dial path
// brings a lookup back.
func controlPinned(ctx context.Context, network, address string, _ syscall.RawConn) error {
	want, ok := ctx.Value(pinnedKey{}).(netip.AddrPort)
	if !ok {
		return fmt.Errorf("outbound: connect to %s without a checked address", address)
	}
	got, err := netip.ParseAddrPort(address)
	if err != nil || got.Addr().Unmap() != want.Addr() || got.Port() != want.Port() {
		return fmt.Errorf("outbound: connect to %s does not match the checked address %s", address, want)
	}
	return nil
}

// redactURL returns u without user information and query, for messages.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery = ""
	r.ForceQuery = false
	r.Fragment = ""
	return r.String()
}

package outbound

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

// publicAddr stands for a public host in the tests. Nothing ever connects
// to it: the test resolver returns it and the test dial hook sends it to a
// loopback listener.
var publicAddr = netip.MustParseAddr("93.184.216.34")

// testResolver resolves names from a table. A name with several results
// returns the next one on each lookup and then keeps returning the last,
// so a test can change a name's addresses between lookups as a rebinding
// DNS server does. Unknown names fail like a missing domain.
type testResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	lookups map[string]int
}

func newTestResolver() *testResolver {
	r := &testResolver{answers: map[string][][]netip.Addr{}, lookups: map[string]int{}}
	r.set("localhost", "127.0.0.1", "::1")
	r.set("public.test", publicAddr.String())
	return r
}

// set adds the result of one lookup of name. Calling it again for the
// same name sets the result of the next lookup.
func (r *testResolver) set(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	answer := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		answer = append(answer, netip.MustParseAddr(a))
	}
	r.answers[name] = append(r.answers[name], answer)
}

func (r *testResolver) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[name]
}

func (r *testResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	answers, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.lookups[host], len(answers)-1)
	r.lookups[host]++
	var out []netip.Addr
	for _, a := range answers[i] {
		if network == "ip4" && !a.Is4() || network == "ip6" && !a.Is6() {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// testDialer records every address the guard dials and connects only to
// the loopback listeners mapped in routes; any other address fails
// without a connection attempt.
type testDialer struct {
	mu     sync.Mutex
	routes map[netip.AddrPort]string
	dialed []string
}

func newTestDialer() *testDialer {
	return &testDialer{routes: map[netip.AddrPort]string{}}
}

// route sends connections to addr to the loopback listener at to.
func (d *testDialer) route(addr netip.AddrPort, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.routes[addr] = to
}

func (d *testDialer) dial(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, address)
	to, ok := d.routes[netip.MustParseAddrPort(address)]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("test dialer: no route to %s", address)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, to)
}

func (d *testDialer) dialedAddrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// newTestGuard returns a guard with the test resolver and dialer.
func newTestGuard(t testing.TB, allow ...string) (*Guard, *testResolver, *testDialer) {
	t.Helper()
	r := newTestResolver()
	d := newTestDialer()
	g, err := New(Config{Allow: allow}, testLogger(), WithResolver(r), WithDialFunc(d.dial))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g, r, d
}

// testLogger logs warnings and errors only, so that a failing run shows
// what the proxy reported.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// probe is a loopback listener that stands for an internal service: it
// counts the connections it accepts and closes them.
type probe struct {
	ln    net.Listener
	conns atomic.Int64
}

func startProbe(t testing.TB) *probe {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return p
}

func (p *probe) addr() string { return p.ln.Addr().String() }

func (p *probe) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

package outbound

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// failingResolver fails every lookup and counts the lookups, so that a
// fuzz target can check that IP literals and invalid hosts are never
// looked up.
type failingResolver struct{ lookups atomic.Int64 }

func (r *failingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.lookups.Add(1)
	return nil, errors.New("lookups are off in this test")
}

func FuzzParseHost(f *testing.F) {
	for _, tc := range forbiddenHosts {
		f.Add(tc.host)
	}
	for _, s := range []string{"localhost", "example.com", "1.2.3.256", "0x", "bücher.example", "a..b", "[::1", "%", "1.2.3.4.5"} {
		f.Add(s)
	}
	resolver := &failingResolver{}
	g, err := New(Config{}, nil, WithResolver(resolver))
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, host string) {
		addr, isIP := ParseHost(host)
		_, name, kind := parseHost(host)
		if isIP != (kind == hostIP) {
			t.Fatalf("ParseHost(%q) ok = %v, but parseHost kind = %d", host, isIP, kind)
		}

		before := resolver.lookups.Load()
		_, err := g.resolve(context.Background(), "tcp", host, 80)
		looked := resolver.lookups.Load() != before

		switch kind {
		case hostIP:
			allowed, reason := Classify(addr)
			if reason == "" {
				t.Fatalf("Classify(%s) from %q gave no reason", addr, host)
			}
			checkNetipAgreement(t, addr)
			if addr.WithZone("").Unmap().IsLoopback() && allowed {
				t.Fatalf("ParseHost(%q) = loopback %s, and Classify allows it", host, addr)
			}
			if !allowed && !IsDenied(err) {
				t.Fatalf("the guard let %q (%s) through: %v", host, addr, err)
			}
			if allowed && err != nil {
				t.Fatalf("the guard refused %q (%s), which Classify allows: %v", host, addr, err)
			}
			if looked {
				t.Fatalf("the guard looked up the IP literal %q", host)
			}
		case hostName:
			if _, err := netip.ParseAddr(strings.TrimSuffix(name, ".")); err == nil {
				t.Fatalf("parseHost(%q) returned the name %q, which is an IP address", host, name)
			}
			if a, again, k := parseHost(name); k != hostName || again != name {
				t.Fatalf("the name %q of %q parses again as %v %q kind %d", name, host, a, again, k)
			}
			if !looked {
				t.Fatalf("the guard did not look up the name %q", name)
			}
		case hostInvalid:
			if !IsDenied(err) {
				t.Fatalf("the guard let the invalid host %q through: %v", host, err)
			}
			if looked {
				t.Fatalf("the guard looked up the invalid host %q", host)
			}
		}
	})
}

func FuzzClassify(f *testing.F) {
	for _, tc := range forbiddenHosts {
		addr, _ := ParseHost(tc.host)
		b16 := addr.As16()
		f.Add(b16[:])
		if addr.Is4() {
			b4 := addr.As4()
			f.Add(b4[:])
		}
	}
	f.Add(publicAddr.AsSlice())
	g, err := New(Config{}, nil, WithResolver(&failingResolver{}))
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		addr, ok := netip.AddrFromSlice(raw)
		if !ok {
			return
		}
		allowed, reason := Classify(addr)
		if reason == "" {
			t.Fatalf("Classify(%s) gave no reason", addr)
		}
		checkNetipAgreement(t, addr)

		host := addr.String()
		if addr.Is6() {
			host = "[" + host + "]"
		}
		_, err := g.resolve(context.Background(), "tcp", host, 443)
		if allowed != (err == nil) {
			t.Fatalf("Classify(%s) allowed = %v, but the guard returned %v", addr, allowed, err)
		}

		if addr.Is4In6() {
			if unmapped, _ := Classify(addr.Unmap()); unmapped != allowed {
				t.Fatalf("Classify(%s) = %v, but its IPv4 address gives %v", addr, allowed, unmapped)
			}
		}
		if !addr.Is4() || allowed {
			return
		}
		// A refused IPv4 address stays refused in every IPv6 form that
		// embeds it.
		v4 := addr.As4()
		for _, embedded := range embeddings(v4) {
			if ok, _ := Classify(embedded); ok {
				t.Fatalf("Classify(%s) allows the refused %s embedded in it", embedded, addr)
			}
		}
	})
}

// embeddings returns v4 in each IPv6 form that carries an IPv4 address.
func embeddings(v4 [4]byte) []netip.Addr {
	var forms []netip.Addr
	put := func(prefix string, at int, v [4]byte) {
		b := netip.MustParseAddr(prefix).As16()
		copy(b[at:], v[:])
		forms = append(forms, netip.AddrFrom16(b))
	}
	put("::ffff:0:0", 12, v4)         // IPv4-mapped
	put("::", 12, v4)                 // IPv4-compatible
	put("64:ff9b::", 12, v4)          // NAT64
	put("2002::", 2, v4)              // 6to4
	put("2001::", 4, v4)              // Teredo server
	put("2a00::200:5efe:0:0", 12, v4) // ISATAP
	inverted := [4]byte{^v4[0], ^v4[1], ^v4[2], ^v4[3]}
	put("2001:0:5db8:d822::", 12, inverted) // Teredo client, public server
	return forms
}

package outbound

import (
	"net/netip"
	"testing"
)

func TestParseHostIPv4Forms(t *testing.T) {
	cases := []struct {
		host string
		want string
	}{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"0X7F000001", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0177.1", "127.0.0.1"},
		{"0x7f.0.0.01", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"00000000000000000000177.1", "127.0.0.1"},
		{"0x", "0.0.0.0"},
		{"0x.0x.0x.0x", "0.0.0.0"},
		{"1.0x10000", "1.1.0.0"},
		{"1.2.0xffff", "1.2.255.255"},
		{"4294967295", "255.255.255.255"},
		{"%30x7f.1", "127.0.0.1"},
		{"１２７.０.０.１", "127.0.0.1"},
		{"127\u00ad.0.0.1", "127.0.0.1"}, // a soft hyphen is dropped
		{"10.0.0.1", "10.0.0.1"},
		{"93.184.216.34", "93.184.216.34"},
	}
	for _, tc := range cases {
		got, ok := ParseHost(tc.host)
		if !ok {
			t.Errorf("ParseHost(%q) = not an IP address, want %s", tc.host, tc.want)
			continue
		}
		if got != netip.MustParseAddr(tc.want) {
			t.Errorf("ParseHost(%q) = %s, want %s", tc.host, got, tc.want)
		}
	}
}

func TestParseHostIPv6Forms(t *testing.T) {
	cases := []struct {
		host string
		want string
	}{
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[::ffff:127.0.0.1]", "::ffff:127.0.0.1"},
		{"[0:0:0:0:0:ffff:7f00:1]", "::ffff:127.0.0.1"},
		{"[FE80::1%25eth0]", "fe80::1%eth0"},
		{"[fe80::1%eth0]", "fe80::1%eth0"},
		{"fe80::1%eth0", "fe80::1%eth0"},
	}
	for _, tc := range cases {
		got, ok := ParseHost(tc.host)
		if !ok {
			t.Errorf("ParseHost(%q) = not an IP address, want %s", tc.host, tc.want)
			continue
		}
		if got != netip.MustParseAddr(tc.want) {
			t.Errorf("ParseHost(%q) = %s, want %s", tc.host, got, tc.want)
		}
	}
}

// Hosts that browsers reject; the guard must neither read them as an
// address nor look them up as a name.
func TestParseHostInvalid(t *testing.T) {
	invalid := []string{
		"",
		"1.2.3.256",
		"1.2.3.4.5",
		"256.1",
		"1.16777216",
		"4294967296",
		"08.1",
		"0x7g.1",
		"127..1",
		".127.0.0.1",
		"0x100000000",
		"a.b.1",
		"example.0x1f",
		"[127.0.0.1]",
		"[::1",
		"[::1]x",
		"::1::",
		"%zz.example",
		"a b.example",
		"a/b.example",
	}
	for _, host := range invalid {
		if addr, name, kind := parseHost(host); kind != hostInvalid {
			t.Errorf("parseHost(%q) = %v %q kind %d, want invalid", host, addr, name, kind)
		}
		if _, ok := ParseHost(host); ok {
			t.Errorf("ParseHost(%q) = an IP address, want none", host)
		}
	}
}

func TestParseHostNames(t *testing.T) {
	cases := []struct {
		host string
		want string
	}{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"localhost", "localhost"},
		{"intranet.", "intranet."},
		{"_acme.example", "_acme.example"},
		{"1.2.3.example", "1.2.3.example"},
		{"0x7f.example", "0x7f.example"},
		{"bücher.example", "xn--bcher-kva.example"},
	}
	for _, tc := range cases {
		addr, name, kind := parseHost(tc.host)
		if kind != hostName {
			t.Errorf("parseHost(%q) kind = %d (%v), want a name", tc.host, kind, addr)
			continue
		}
		if name != tc.want {
			t.Errorf("parseHost(%q) name = %q, want %q", tc.host, name, tc.want)
		}
	}
}

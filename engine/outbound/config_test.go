package outbound

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewRejectsInvalidAllowEntries(t *testing.T) {
	cases := []struct {
		name  string
		allow []string
		want  string
	}{
		{"empty entry", []string{"10.0.0.0/8", " "}, "outbound.allow[1]"},
		{"bad prefix", []string{"10.0.0.0/33"}, "outbound.allow[0]"},
		{"bad port", []string{"ok.example", "intranet.example:99999"}, "outbound.allow[1]"},
		{"zero port", []string{"intranet.example:0"}, "outbound.allow[0]"},
		{"bare star", []string{"*"}, "outbound.allow[0]"},
		{"star on an address", []string{"*.10.0.0.1"}, "outbound.allow[0]"},
		{"invalid host", []string{"1.2.3.256"}, "outbound.allow[0]"},
		{"space in name", []string{"a b.example"}, "outbound.allow[0]"},
		{"scheme", []string{"http://intranet.example"}, "outbound.allow[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Allow: tc.allow}, nil)
			if err == nil {
				t.Fatalf("New(%q) succeeded, want an error naming %s", tc.allow, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%q) error = %q, want it to name %s", tc.allow, err, tc.want)
			}
		})
	}
}

func TestAllowEntryMatches(t *testing.T) {
	loop := netip.MustParseAddr("127.0.0.1")
	private := netip.MustParseAddr("10.20.1.5")
	cases := []struct {
		entry string
		addr  netip.Addr
		name  string
		port  uint16
		want  bool
	}{
		{"10.20.0.0/16", private, "", 80, true},
		{"10.20.0.0/16", private, "any.example", 8443, true},
		{"10.20.0.0/16", netip.MustParseAddr("10.21.0.1"), "", 80, false},
		{"10.20.1.9/16", private, "", 80, true}, // host bits are ignored
		{"10.20.0.0/16", netip.MustParseAddr("::ffff:10.20.1.5"), "", 80, true},
		{"127.0.0.1:8080", loop, "", 8080, true},
		{"127.0.0.1:8080", loop, "", 8081, false},
		{"0x7f.1:8080", loop, "", 8080, true},
		{"[::1]:8080", netip.IPv6Loopback(), "", 8080, true},
		{"[::1]", netip.IPv6Loopback(), "", 1, true},
		{"fd00::/8", netip.MustParseAddr("fd00::5"), "", 1, true},
		{"fd00::5", netip.MustParseAddr("fd00::5"), "", 1, true},
		{"wiki.intranet.example", private, "wiki.intranet.example", 443, true},
		{"Wiki.Intranet.Example.", private, "wiki.intranet.example", 443, true},
		{"wiki.intranet.example", private, "other.intranet.example", 443, false},
		{"wiki.intranet.example:443", private, "wiki.intranet.example", 80, false},
		{"*.intranet.example", private, "wiki.intranet.example", 80, true},
		{"*.intranet.example", private, "a.b.intranet.example", 80, true},
		{"*.intranet.example", private, "intranet.example", 80, false},
		{"*.intranet.example", private, "evilintranet.example", 80, false},
		{"*.intranet.example:443", private, "wiki.intranet.example", 443, true},
		{"*.intranet.example:443", private, "wiki.intranet.example", 80, false},
		{"wiki.intranet.example", private, "", 80, false}, // an IP literal has no name
	}
	for _, tc := range cases {
		e, err := parseAllowEntry(tc.entry)
		if err != nil {
			t.Errorf("parseAllowEntry(%q): %v", tc.entry, err)
			continue
		}
		if got := e.matches(tc.addr, tc.name, tc.port); got != tc.want {
			t.Errorf("entry %q matches(%s, %q, %d) = %v, want %v", tc.entry, tc.addr, tc.name, tc.port, got, tc.want)
		}
	}
}

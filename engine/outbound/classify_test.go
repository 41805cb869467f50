package outbound

import (
	"net/netip"
	"strings"
	"testing"
)

// teredoLoopbackClient is a Teredo address whose client part, inverted in
// the last 32 bits (80ff:fffe), is 127.0.0.1; the server part 65.54.227.120
// is public.
const teredoLoopbackClient = "[2001:0:4136:e378:8000:63bf:80ff:fffe]"

// forbiddenHosts lists internal targets written in every way a URL host
// can write them, with the start of the reason the guard must give. It is
// also the seed corpus of the fuzz targets.
var forbiddenHosts = []struct {
	host   string
	reason string
}{
	{"127.0.0.1", "loopback address"},
	{"127.1", "loopback address"},
	{"127.0.1", "loopback address"},
	{"2130706433", "loopback address"},
	{"0x7f000001", "loopback address"},
	{"0x7F.1", "loopback address"},
	{"0177.0.0.1", "loopback address"},
	{"0177.0x0.00.1", "loopback address"},
	{"127.0.0.1.", "loopback address"},
	{"0x00007f.0000001", "loopback address"},
	{"%31%32%37.0.0.1", "loopback address"},
	{"１２７.０.０.１", "loopback address"},
	{"127。0。0。1", "loopback address"},
	{"[::1]", "loopback address"},
	{"[0:0:0:0:0:0:0:1]", "loopback address"},
	{"[::ffff:127.0.0.1]", "loopback address 127.0.0.1 embedded in an IPv4-mapped"},
	{"[::ffff:7f00:1]", "loopback address 127.0.0.1 embedded in an IPv4-mapped"},
	{"[0:0:0:0:0:ffff:127.0.0.1]", "loopback address 127.0.0.1 embedded in an IPv4-mapped"},
	{"[::127.0.0.1]", "loopback address 127.0.0.1 embedded in an IPv4-compatible"},
	{"[2002:7f00:1::]", "loopback address 127.0.0.1 embedded in a 6to4"},
	{teredoLoopbackClient, "loopback address 127.0.0.1 embedded in the client part of a Teredo"},
	{"[2001:0:7f00:1::]", "loopback address 127.0.0.1 embedded in the server part of a Teredo"},
	{"[64:ff9b::7f00:1]", "loopback address 127.0.0.1 embedded in a NAT64"},
	{"[64:ff9b::169.254.169.254]", "link-local address of the cloud metadata service 169.254.169.254 embedded in a NAT64"},
	{"[64:ff9b:1::5db8:d822]", "local-use NAT64 address"},
	{"[2a00:1450::5efe:7f00:1]", "loopback address 127.0.0.1 embedded in the ISATAP"},
	{"169.254.169.254", "link-local address of the cloud metadata service"},
	{"0xa9fea9fe", "link-local address of the cloud metadata service"},
	{"169.254.1.1", "link-local address"},
	{"[fe80::1%25eth0]", "link-local address"},
	{"fe80::1%eth0", "link-local address"},
	{"10.0.0.1", "private address"},
	{"012.1", "private address"},
	{"172.16.5.4", "private address"},
	{"172.31.255.255", "private address"},
	{"192.168.1.1", "private address"},
	{"[fd00::1]", "private address (IPv6 unique local)"},
	{"[fc00::1]", "private address (IPv6 unique local)"},
	{"100.64.0.1", "carrier-grade NAT address"},
	{"100.127.255.254", "carrier-grade NAT address"},
	{"0.0.0.0", "unspecified address"},
	{"0", "unspecified address"},
	{"0.1.2.3", "unspecified address"},
	{"[::]", "unspecified address"},
	{"224.0.0.1", "multicast address"},
	{"239.255.255.250", "multicast address"},
	{"[ff02::1]", "multicast address"},
	{"255.255.255.255", "broadcast address"},
	{"240.0.0.1", "reserved address"},
	{"192.0.0.1", "IETF protocol assignment address"},
	{"192.0.2.1", "documentation address"},
	{"198.51.100.1", "documentation address"},
	{"203.0.113.1", "documentation address"},
	{"198.18.0.1", "benchmarking address"},
	{"198.19.255.255", "benchmarking address"},
	{"[2001:db8::1]", "documentation address"},
	{"[3fff::1]", "documentation address"},
	{"[100::1]", "discard-only address"},
	{"[2001:2::1]", "benchmarking address"},
	{"[2001:10::1]", "IETF protocol assignment address"},
	{"[fec0::1]", "site-local address"},
	{"[::2:0:0:1]", "reserved address"},
	{"[4000::1]", "reserved address"},
}

func TestClassifyForbiddenHosts(t *testing.T) {
	for _, tc := range forbiddenHosts {
		addr, ok := ParseHost(tc.host)
		if !ok {
			t.Errorf("ParseHost(%q) = not an IP address, want an address", tc.host)
			continue
		}
		allowed, reason := Classify(addr)
		if allowed {
			t.Errorf("Classify(%s) from %q = allowed, want refused as %q", addr, tc.host, tc.reason)
			continue
		}
		if !strings.HasPrefix(reason, tc.reason) {
			t.Errorf("Classify(%s) from %q reason = %q, want it to start with %q", addr, tc.host, reason, tc.reason)
		}
	}
}

func TestClassifyPublic(t *testing.T) {
	public := []string{
		"93.184.216.34",
		"8.8.8.8",
		"1.1.1.1",
		"100.63.255.255",  // just below carrier-grade NAT
		"100.128.0.0",     // just above it
		"172.15.255.255",  // just below 172.16/12
		"172.32.0.0",      // just above it
		"192.0.1.1",       // next to 192.0.0/24 and 192.0.2/24
		"198.17.255.255",  // below benchmarking
		"198.20.0.0",      // above benchmarking
		"223.255.255.255", // below multicast
		"2606:2800:220:1:248:1893:25c8:1946",
		"2a00:1450:4001:80b::200e",
		"::ffff:93.184.216.34",                 // IPv4-mapped public
		"64:ff9b::5db8:d822",                   // NAT64 of 93.184.216.34
		"2002:5db8:d822::1",                    // 6to4 of 93.184.216.34
		"2001:0:4136:e378:8000:63bf:a247:27dd", // Teredo, both parts public
		"2001:3::1",                            // AMT, global inside 2001::/23
		"2001:1::1",                            // PCP anycast
		"2001:20::1",                           // ORCHIDv2
		"2a00:1450::200:5efe:5db8:d822",        // ISATAP of a public IPv4
	}
	for _, s := range public {
		addr := netip.MustParseAddr(s)
		allowed, reason := Classify(addr)
		if !allowed {
			t.Errorf("Classify(%s) = refused as %q, want allowed", s, reason)
		}
		if reason != "public address" {
			t.Errorf("Classify(%s) reason = %q, want %q", s, reason, "public address")
		}
	}
}

func TestClassifyInvalidAddr(t *testing.T) {
	allowed, reason := Classify(netip.Addr{})
	if allowed {
		t.Errorf("Classify(zero Addr) = allowed, want refused")
	}
	if reason != "invalid address" {
		t.Errorf("Classify(zero Addr) reason = %q, want %q", reason, "invalid address")
	}
}

// The standard library's own predicates must never disagree with a refusal.
func TestClassifyAgreesWithNetip(t *testing.T) {
	for _, tc := range forbiddenHosts {
		addr, _ := ParseHost(tc.host)
		checkNetipAgreement(t, addr)
	}
}

func checkNetipAgreement(t *testing.T, addr netip.Addr) {
	t.Helper()
	plain := addr.WithZone("").Unmap()
	special := plain.IsLoopback() || plain.IsPrivate() || plain.IsLinkLocalUnicast() ||
		plain.IsLinkLocalMulticast() || plain.IsInterfaceLocalMulticast() || plain.IsMulticast() ||
		plain.IsUnspecified()
	if allowed, _ := Classify(addr); special && allowed {
		t.Errorf("Classify(%s) = allowed, but netip calls it loopback, private, link-local, multicast or unspecified", addr)
	}
}

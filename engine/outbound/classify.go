package outbound

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Reasons that Classify returns. Messages append further detail to some of
// them, such as the IPv4 address embedded in an IPv6 one.
const (
	reasonPublic        = "public address"
	reasonLoopback      = "loopback address"
	reasonPrivate       = "private address"
	reasonLinkLocal     = "link-local address"
	reasonMetadata      = "link-local address of the cloud metadata service"
	reasonCGNAT         = "carrier-grade NAT address"
	reasonMulticast     = "multicast address"
	reasonUnspecified   = "unspecified address"
	reasonBroadcast     = "broadcast address"
	reasonDocumentation = "documentation address"
	reasonBenchmarking  = "benchmarking address"
	reasonReserved      = "reserved address"
	reasonProtocol      = "IETF protocol assignment address"
	reasonSiteLocal     = "site-local address"
	reasonUniqueLocal   = "private address (IPv6 unique local)"
	reasonDiscard       = "discard-only address"
	reasonLocalNAT64    = "local-use NAT64 address"
	reasonInvalid       = "invalid address"
)

// rangeRule gives the reason for refusing every address of a prefix.
type rangeRule struct {
	prefix netip.Prefix
	reason string
}

func rules(pairs ...string) []rangeRule {
	out := make([]rangeRule, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, rangeRule{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return out
}

// deniedIPv4 lists the IPv4 ranges that are not globally reachable, from
// the IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its
// updates). The first match wins, so single addresses come before the
// ranges around them.
var deniedIPv4 = rules(
	"255.255.255.255/32", reasonBroadcast,
	"169.254.169.254/32", reasonMetadata,
	"0.0.0.0/8", reasonUnspecified,
	"10.0.0.0/8", reasonPrivate,
	"100.64.0.0/10", reasonCGNAT,
	"127.0.0.0/8", reasonLoopback,
	"169.254.0.0/16", reasonLinkLocal,
	"172.16.0.0/12", reasonPrivate,
	// 192.0.0.9 and 192.0.0.10 are global anycast addresses, but nothing a
	// renderer or a webhook needs, so the whole /24 stays closed.
	"192.0.0.0/24", reasonProtocol,
	"192.0.2.0/24", reasonDocumentation,
	// Deprecated 6to4 relay anycast (RFC 7526).
	"192.88.99.0/24", reasonReserved,
	"192.168.0.0/16", reasonPrivate,
	"198.18.0.0/15", reasonBenchmarking,
	"198.51.100.0/24", reasonDocumentation,
	"203.0.113.0/24", reasonDocumentation,
	"224.0.0.0/4", reasonMulticast,
	"240.0.0.0/4", reasonReserved,
)

// globalIPv6 is the global unicast space 2000::/3. Everything outside it
// is special-purpose or unassigned, except the forms that embed an IPv4
// address, which classifyIPv6 handles first.
var globalIPv6 = netip.MustParsePrefix("2000::/3")

// deniedOutsideGlobalIPv6 names the ranges outside 2000::/3 in messages;
// any other address there is reserved.
var deniedOutsideGlobalIPv6 = rules(
	"fc00::/7", reasonUniqueLocal,
	"fe80::/10", reasonLinkLocal,
	"fec0::/10", reasonSiteLocal,
	"ff00::/8", reasonMulticast,
	"100::/64", reasonDiscard,
)

// ietfProtocolGlobal lists the globally reachable exceptions inside the
// IETF protocol assignments 2001::/23, per the IANA IPv6 Special-Purpose
// Address Registry.
var ietfProtocolGlobal = []netip.Prefix{
	netip.MustParsePrefix("2001:1::1/128"),   // Port Control Protocol anycast
	netip.MustParsePrefix("2001:1::2/128"),   // TURN anycast
	netip.MustParsePrefix("2001:3::/32"),     // AMT
	netip.MustParsePrefix("2001:4:112::/48"), // AS112-v6
	netip.MustParsePrefix("2001:20::/28"),    // ORCHIDv2
	netip.MustParsePrefix("2001:30::/28"),    // Drone Remote ID
}

// deniedInsideGlobalIPv6 lists the special-purpose ranges inside 2000::/3
// that carry no embedded IPv4 address.
var deniedInsideGlobalIPv6 = rules(
	"2001:db8::/32", reasonDocumentation,
	"3fff::/20", reasonDocumentation,
	"2001:2::/48", reasonBenchmarking,
	"2001::/23", reasonProtocol,
)

// Prefixes of the IPv6 forms that carry an IPv4 address.
var (
	prefixTeredo     = netip.MustParsePrefix("2001::/32")
	prefix6to4       = netip.MustParsePrefix("2002::/16")
	prefixNAT64      = netip.MustParsePrefix("64:ff9b::/96")
	prefixLocalNAT64 = netip.MustParsePrefix("64:ff9b:1::/48")
	prefixCompatible = netip.MustParsePrefix("::/96")
)

// Classify reports whether ip may be reached without an outbound.allow
// entry, and why. Only globally reachable unicast addresses are allowed.
// An IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-compatible,
// 6to4, Teredo, NAT64, ISATAP) is allowed only when every embedded IPv4
// address is, because the network may deliver it to that IPv4 address.
// The zone of an IPv6 address is ignored. The reason names the range, such
// as "loopback address", or is "public address" for an allowed address.
func Classify(ip netip.Addr) (allowed bool, reason string) {
	if !ip.IsValid() {
		return false, reasonInvalid
	}
	ip = ip.WithZone("")
	if ip.Is4() {
		return classifyIPv4(ip)
	}
	return classifyIPv6(ip)
}

func classifyIPv4(ip netip.Addr) (bool, string) {
	for _, r := range deniedIPv4 {
		if r.prefix.Contains(ip) {
			return false, r.reason
		}
	}
	return true, reasonPublic
}

func classifyIPv6(ip netip.Addr) (bool, string) {
	if ip.Is4In6() {
		return classifyEmbedded(ip.Unmap(), "an IPv4-mapped IPv6 address")
	}
	if ip == netip.IPv6Unspecified() {
		return false, reasonUnspecified
	}
	if ip == netip.IPv6Loopback() {
		return false, reasonLoopback
	}
	if prefixCompatible.Contains(ip) {
		return classifyEmbedded(lastIPv4(ip), "an IPv4-compatible IPv6 address")
	}
	if prefixNAT64.Contains(ip) {
		return classifyEmbedded(lastIPv4(ip), "a NAT64 IPv6 address")
	}
	if prefixLocalNAT64.Contains(ip) {
		// RFC 8215 lets each network choose where in this /48 the IPv4
		// address sits, so it cannot be read back. The range is not
		// globally reachable, so it is refused whatever it embeds.
		return false, reasonLocalNAT64
	}

	if !globalIPv6.Contains(ip) {
		for _, r := range deniedOutsideGlobalIPv6 {
			if r.prefix.Contains(ip) {
				return false, r.reason
			}
		}
		return false, reasonReserved
	}

	if prefixTeredo.Contains(ip) {
		return classifyTeredo(ip)
	}
	if prefix6to4.Contains(ip) {
		b := ip.As16()
		return classifyEmbedded(netip.AddrFrom4([4]byte(b[2:6])), "a 6to4 IPv6 address")
	}
	for _, p := range ietfProtocolGlobal {
		if p.Contains(ip) {
			return classifyISATAP(ip)
		}
	}
	for _, r := range deniedInsideGlobalIPv6 {
		if r.prefix.Contains(ip) {
			return false, r.reason
		}
	}
	return classifyISATAP(ip)
}

// classifyTeredo checks both IPv4 addresses of a Teredo address (RFC 4380):
// the server's in bits 32-63 and the client's, inverted, in bits 96-127.
func classifyTeredo(ip netip.Addr) (bool, string) {
	b := ip.As16()
	server := netip.AddrFrom4([4]byte(b[4:8]))
	if ok, reason := classifyEmbedded(server, "the server part of a Teredo IPv6 address"); !ok {
		return false, reason
	}
	client := binary.BigEndian.Uint32(b[12:16]) ^ 0xffffffff
	var c [4]byte
	binary.BigEndian.PutUint32(c[:], client)
	return classifyEmbedded(netip.AddrFrom4(c), "the client part of a Teredo IPv6 address")
}

// classifyISATAP checks the IPv4 address in an ISATAP interface identifier
// (RFC 5214: 0000:5efe or 0200:5efe, then the IPv4 address), which a host
// with an ISATAP tunnel delivers to that IPv4 address.
func classifyISATAP(ip netip.Addr) (bool, string) {
	b := ip.As16()
	if (b[8] == 0x00 || b[8] == 0x02) && b[9] == 0x00 && b[10] == 0x5e && b[11] == 0xfe {
		return classifyEmbedded(lastIPv4(ip), "the ISATAP interface identifier of an IPv6 address")
	}
	return true, reasonPublic
}

// classifyEmbedded classifies the IPv4 address v4 found at where, a phrase
// such as "an IPv4-mapped IPv6 address", naming both in the reason when v4
// is refused.
func classifyEmbedded(v4 netip.Addr, where string) (bool, string) {
	ok, reason := classifyIPv4(v4)
	if ok {
		return true, reasonPublic
	}
	return false, fmt.Sprintf("%s %s embedded in %s", reason, v4, where)
}

func lastIPv4(ip netip.Addr) netip.Addr {
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[12:16]))
}

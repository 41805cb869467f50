package outbound

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// hostKind is the kind of a URL host: an IP address, a domain name, or
// invalid.
type hostKind int

const (
	hostInvalid hostKind = iota
	hostIP
	hostName
)

// domainToASCII maps a host the way the WHATWG URL Standard's "domain to
// ASCII" does, with UTS #46 and without transitional processing, STD3
// rules or hyphen checks. It lowercases, maps full-width digits and
// ideographic full stops to ASCII, drops ignored code points such as the
// soft hyphen, and encodes other Unicode labels as punycode.
var domainToASCII = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.CheckHyphens(false),
)

// ParseHost returns the IP address that a URL host denotes, read the way
// browsers read it (the WHATWG URL Standard host parser), and whether the
// host is an IP address at all. It accepts IPv6 addresses with or without
// brackets, with a zone written as %25zone or %zone. It accepts every IPv4
// form that browsers accept: decimal (2130706433), octal (0177.0.0.1), hex
// (0x7f.1), one to four parts (127.1, 127.0.1), mixed radixes, a trailing
// dot, and percent-encoded or full-width digits. It returns false for a
// domain name, and for an invalid host such as 1.2.3.256, which browsers
// reject instead of looking it up.
func ParseHost(host string) (netip.Addr, bool) {
	addr, _, kind := parseHost(host)
	return addr, kind == hostIP
}

// parseHost classifies host. For a domain name it also returns the name in
// lowercase ASCII, with a trailing dot kept as given, because "intranet."
// and "intranet" can resolve differently.
func parseHost(host string) (netip.Addr, string, hostKind) {
	if host == "" {
		return netip.Addr{}, "", hostInvalid
	}
	if strings.HasPrefix(host, "[") {
		inner, ok := strings.CutSuffix(host[1:], "]")
		if !ok {
			return netip.Addr{}, "", hostInvalid
		}
		return parseIPv6(inner)
	}
	if strings.Contains(host, ":") {
		// An IPv6 address without brackets, as url.URL.Hostname returns it.
		return parseIPv6(host)
	}

	decoded, ok := percentDecode(host)
	// Browsers decode the bytes as UTF-8 and reject a host with an invalid
	// sequence, which idna would map to U+FFFD and encode.
	if !ok || !utf8.ValidString(decoded) || strings.ContainsRune(decoded, utf8.RuneError) {
		return netip.Addr{}, "", hostInvalid
	}
	ascii, err := domainToASCII.ToASCII(decoded)
	if err != nil || ascii == "" {
		return netip.Addr{}, "", hostInvalid
	}
	if endsInNumber(ascii) {
		addr, ok := parseIPv4(ascii)
		if !ok {
			return netip.Addr{}, "", hostInvalid
		}
		return addr, "", hostIP
	}
	if !validDomainName(ascii) {
		return netip.Addr{}, "", hostInvalid
	}
	return netip.Addr{}, ascii, hostName
}

// parseIPv6 parses an IPv6 address with an optional zone, which a URL
// writes as %25zone.
func parseIPv6(s string) (netip.Addr, string, hostKind) {
	if i := strings.Index(s, "%25"); i >= 0 {
		s = s[:i] + "%" + s[i+len("%25"):]
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || !addr.Is6() {
		return netip.Addr{}, "", hostInvalid
	}
	return addr, "", hostIP
}

// percentDecode decodes %XX escapes, as browsers do in hosts before
// reading them as IPv4 addresses.
func percentDecode(s string) (string, bool) {
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := hexDigit(s[i+1])
		lo, ok2 := hexDigit(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validDomainName reports whether s, already in lowercase ASCII, contains
// only the characters a resolver accepts in a name: letters, digits, '-',
// '_' and dots between non-empty labels, with one optional trailing dot.
func validDomainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// ipv4Parts splits a host into its dot-separated parts, dropping one empty
// last part (a trailing dot) when other parts precede it.
func ipv4Parts(s string) []string {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// endsInNumber implements the URL Standard's "ends in a number checker": a
// host whose last label is a number must be an IPv4 address, never a name.
func endsInNumber(s string) bool {
	parts := ipv4Parts(s)
	last := parts[len(parts)-1]
	if last == "" {
		return false
	}
	allDigits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			allDigits = false
			break
		}
	}
	if allDigits {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

// parseIPv4 implements the URL Standard's IPv4 parser: one to four parts,
// each decimal, octal (leading 0) or hex (leading 0x), where the last part
// fills all the bytes that the parts before it leave.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := ipv4Parts(s)
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	numbers := make([]uint64, len(parts))
	for i, part := range parts {
		n, ok := parseIPv4Number(part)
		if !ok {
			return netip.Addr{}, false
		}
		numbers[i] = n
	}
	for _, n := range numbers[:len(numbers)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	last := numbers[len(numbers)-1]
	if last >= 1<<(8*(5-len(numbers))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range numbers[:len(numbers)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ipv4NumberLimit caps the value of one IPv4 part while parsing: any larger
// part is invalid, however many digits follow.
const ipv4NumberLimit = 1 << 33

// parseIPv4Number parses one part of an IPv4 host. An empty part is
// invalid, but "0x" alone is 0, as in browsers. Leading zeros may be many.
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	radix := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		radix, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		radix, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d, ok := hexDigit(s[i])
		if !ok || uint64(d) >= radix {
			return 0, false
		}
		if n < ipv4NumberLimit {
			n = n*radix + uint64(d)
		}
	}
	return n, true
}

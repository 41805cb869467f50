package outbound

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Config is the "outbound" section of the configuration.
type Config struct {
	// Allow lists the targets that may be reached although their addresses
	// are not public, which opens intranet targets deliberately. Each entry
	// is one of:
	//   - a CIDR prefix, such as 10.20.0.0/16 or fd00:1::/64;
	//   - an IP address, such as 10.20.1.5 or [fd00::5];
	//   - a host name, such as pdf-assets.intranet.example, which allows
	//     every address the name resolves to;
	//   - a pattern *.intranet.example, which allows every name below
	//     intranet.example at any depth, but not intranet.example itself;
	//   - any of the last three with :port, such as 10.20.1.5:8443 or
	//     wiki.intranet.example:443, which allows that port only.
	// Host names are compared in lowercase ASCII, with punycode for
	// international names. Optional; empty allows public addresses only.
	Allow []string `koanf:"allow"`
}

// allowEntry is one parsed entry of Config.Allow. Exactly one of prefix,
// name and suffix is set.
type allowEntry struct {
	// prefix matches addresses, whatever name they were reached by.
	prefix netip.Prefix
	// name matches one host name, without a trailing dot.
	name string
	// suffix matches names that end in it; it starts with a dot.
	suffix string
	// port limits the entry to one port; 0 means every port.
	port uint16
}

// matches reports whether the entry allows addr, reached as name (empty for
// an IP literal) on port.
func (e allowEntry) matches(addr netip.Addr, name string, port uint16) bool {
	if e.port != 0 && e.port != port {
		return false
	}
	switch {
	case e.prefix.IsValid():
		return e.prefix.Contains(addr.WithZone("").Unmap())
	case e.name != "":
		return name == e.name
	case e.suffix != "":
		return strings.HasSuffix(name, e.suffix)
	}
	return false
}

// parseAllowList parses cfg.Allow, naming the index of an invalid entry.
func parseAllowList(entries []string) ([]allowEntry, error) {
	parsed := make([]allowEntry, 0, len(entries))
	for i, raw := range entries {
		e, err := parseAllowEntry(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("outbound.allow[%d] %q is invalid: %w", i, raw, err)
		}
		parsed = append(parsed, e)
	}
	return parsed, nil
}

func parseAllowEntry(s string) (allowEntry, error) {
	if s == "" {
		return allowEntry{}, fmt.Errorf("the entry is empty; give a CIDR prefix, a host, a pattern such as *.intranet.example, or host:port")
	}
	if strings.Contains(s, "/") {
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			return allowEntry{}, fmt.Errorf("not a CIDR prefix such as 10.20.0.0/16: %w", err)
		}
		return allowEntry{prefix: prefix.Masked()}, nil
	}

	host, port, err := splitAllowHostPort(s)
	if err != nil {
		return allowEntry{}, err
	}
	if host == "*" {
		return allowEntry{}, fmt.Errorf("a bare * is not accepted; to allow every address, list 0.0.0.0/0 and ::/0")
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		_, name, kind := parseHost(rest)
		if kind != hostName {
			return allowEntry{}, fmt.Errorf("the part after *. must be a domain name, such as *.intranet.example")
		}
		return allowEntry{suffix: "." + strings.TrimSuffix(name, "."), port: port}, nil
	}

	addr, name, kind := parseHost(host)
	switch kind {
	case hostIP:
		addr = addr.WithZone("").Unmap()
		return allowEntry{prefix: netip.PrefixFrom(addr, addr.BitLen()), port: port}, nil
	case hostName:
		return allowEntry{name: strings.TrimSuffix(name, "."), port: port}, nil
	}
	return allowEntry{}, fmt.Errorf("%q is neither an IP address nor a valid host name", host)
}

// splitAllowHostPort splits an entry into host and optional port. A bare
// IPv6 address has several colons and no port, and needs brackets to take
// one: [fd00::5]:8443.
func splitAllowHostPort(s string) (string, uint16, error) {
	colons := strings.Count(s, ":")
	bracketed := strings.HasPrefix(s, "[")
	if colons == 0 || (colons > 1 && !bracketed) {
		return s, 0, nil
	}
	if bracketed && strings.HasSuffix(s, "]") {
		return s, 0, nil
	}
	host, portText, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("not host:port: %w", err)
	}
	if bracketed {
		host = "[" + host + "]"
	}
	port, err := parsePort(portText)
	if err != nil {
		return "", 0, err
	}
	return host, port, nil
}

// parsePort parses a decimal TCP port from 1 to 65535.
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q: give a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

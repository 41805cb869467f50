package outbound

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// procNetTCP lists the kernel's TCP socket tables, IPv4 and IPv6.
var procNetTCP = []string{"/proc/net/tcp", "/proc/net/tcp6"}

// newPeerCheck returns a check that accepts a connection only when the
// client's socket belongs to this process's effective user ID. Chromium
// runs as that user. A process of the same user can already signal this
// process or drive Chromium, so the user ID is the boundary to enforce.
func newPeerCheck() (func(net.Conn) error, error) {
	uid := uint32(os.Geteuid())
	return func(conn net.Conn) error {
		client, err1 := netip.ParseAddrPort(conn.RemoteAddr().String())
		server, err2 := netip.ParseAddrPort(conn.LocalAddr().String())
		if err1 != nil || err2 != nil {
			return fmt.Errorf("not a TCP connection: %s", conn.RemoteAddr())
		}
		owner, err := socketOwner(client, server)
		if err != nil {
			return err
		}
		if owner != uid {
			return fmt.Errorf("the connecting socket belongs to user ID %d, not %d", owner, uid)
		}
		return nil
	}, nil
}

// socketOwner returns the user ID that owns the TCP socket bound to local
// and connected to remote, from the socket tables in /proc.
func socketOwner(local, remote netip.AddrPort) (uint32, error) {
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	for _, path := range procNetTCP {
		uid, found, err := findSocketOwner(path, local, remote)
		if err != nil {
			return 0, err
		}
		if found {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("no socket from %s to %s in %s", local, remote, strings.Join(procNetTCP, " or "))
}

func findSocketOwner(path string, local, remote netip.AddrPort) (uint32, bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()

	scanner := bufio.NewScanner(f)
	scanner.Scan() // the header line
	for scanner.Scan() {
		// Fields: sl local_address rem_address st tx_queue:rx_queue
		// tr:tm->when retrnsmt uid timeout inode ...
		fields := strings.Fields(scanner.Text())
		if len(fields) < 8 {
			continue
		}
		l, err1 := parseProcAddr(fields[1])
		r, err2 := parseProcAddr(fields[2])
		if err1 != nil || err2 != nil || l != local || r != remote {
			continue
		}
		uid, err := strconv.ParseUint(fields[7], 10, 32)
		if err != nil {
			return 0, false, fmt.Errorf("invalid user ID %q in %s", fields[7], path)
		}
		return uint32(uid), true, nil
	}
	return 0, false, scanner.Err()
}

// parseProcAddr parses an address of /proc/net/tcp{,6}, such as
// 0100007F:1F90: the address as 32-bit words printed in hex in the
// machine's byte order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	addrHex, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("invalid socket address %q", s)
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid port in %q", s)
	}
	raw, err := hex.DecodeString(addrHex)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("invalid address in %q", s)
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

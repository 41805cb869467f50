package outbound

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
)

// procHex writes addr the way /proc/net/tcp does: each 32-bit word in hex,
// read in the machine's byte order.
func procHex(addr netip.Addr) string {
	raw := addr.AsSlice()
	s := ""
	for i := 0; i < len(raw); i += 4 {
		s += fmt.Sprintf("%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return s
}

func TestParseProcAddr(t *testing.T) {
	cases := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:8080"),
		netip.MustParseAddrPort("10.1.2.3:1"),
		netip.MustParseAddrPort("[::1]:443"),
		netip.MustParseAddrPort("[2001:db8::5]:65535"),
	}
	for _, want := range cases {
		text := fmt.Sprintf("%s:%04X", procHex(want.Addr()), want.Port())
		got, err := parseProcAddr(text)
		if err != nil {
			t.Errorf("parseProcAddr(%q): %v", text, err)
			continue
		}
		if got != want {
			t.Errorf("parseProcAddr(%q) = %s, want %s", text, got, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "0100007F:", "zz00007F:0050", "0100007F:10000", "01007F:0050"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q) succeeded, want an error", bad)
		}
	}
}

func TestSocketOwnerOfOwnConnection(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "[::1]"}[network]
		ln, err := net.Listen(network, host+":0")
		if err != nil {
			t.Logf("%s: no loopback listener (%v); skipped", network, err)
			continue
		}
		client, err := net.Dial(network, ln.Addr().String())
		if err != nil {
			ln.Close()
			t.Fatal(err)
		}
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		local := netip.MustParseAddrPort(client.LocalAddr().String())
		remote := netip.MustParseAddrPort(client.RemoteAddr().String())
		uid, err := socketOwner(local, remote)
		if err != nil {
			t.Errorf("%s: socketOwner(%s, %s): %v", network, local, remote, err)
		} else if uid != uint32(os.Geteuid()) {
			t.Errorf("%s: socketOwner = %d, want %d", network, uid, os.Geteuid())
		}
		server.Close()
		client.Close()
		ln.Close()
	}
}

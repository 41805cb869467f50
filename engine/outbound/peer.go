package outbound

import (
	"fmt"
	"net"
)

// selfTestPeerCheck runs check on a loopback connection of this process,
// which it must accept. It fails where /proc/net/tcp is missing or does
// not list the connection with this process's user ID.
func selfTestPeerCheck(check func(net.Conn) error) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("self-test of the peer check: %w", err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("self-test of the peer check: %w", err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		return fmt.Errorf("self-test of the peer check: %w", err)
	}
	defer server.Close()
	if err := check(server); err != nil {
		return fmt.Errorf("self-test of the peer check: %w", err)
	}
	return nil
}

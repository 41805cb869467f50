// Package outbound keeps the requests that Presso makes on a client's
// behalf (page loads in Chromium, webhooks, uploads to presigned URLs) away
// from the operator's internal network.
//
// A Guard allows connections to public addresses only (see Classify),
// plus the targets listed in the "outbound.allow" configuration key. It
// looks a name up once and refuses the name if any of its addresses is
// refused, so a DNS answer that mixes public and internal addresses
// reaches nothing. It then connects to the checked address itself, so an
// answer that changes between check and connect (DNS rebinding) cannot
// send the connection elsewhere.
//
// Go clients use Guard.HTTPTransport. Chromium uses the egress proxy of
// Guard.StartProxy, because request interception in the DevTools protocol
// does not see WebSockets: the proxy receives every TCP connection the
// browser makes (with --proxy-bypass-list=<-loopback>, loopback ones too)
// and dials it through the guard.
//
// The proxy does not cover traffic that Chromium sends outside its proxy.
// WebRTC sends UDP directly unless Chromium runs with
// --webrtc-ip-handling-policy=disable_non_proxied_udp (seen with Chromium
// 156; TestChromiumWebRTCLeaksUDPWithoutPolicy checks it). Local files are
// read without the network, so navigations must pass AllowedScheme.
package outbound

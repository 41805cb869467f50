package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// internalService stands in for a service inside the operator's network:
// a loopback listener that counts every connection it accepts.
type internalService struct {
	listener    net.Listener
	connections atomic.Int32
}

func newInternalService(t *testing.T) *internalService {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &internalService{listener: listener}
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			s.connections.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { listener.Close() })
	return s
}

func (s *internalService) port() string {
	_, port, _ := net.SplitHostPort(s.listener.Addr().String())
	return port
}

func TestOutboundGuardRefusesInternalTargets(t *testing.T) {
	internal := newInternalService(t)
	fixture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		fmt.Fprint(w, "<p>fixture</p>")
	}))
	defer fixture.Close()
	// Only the fixture server, by exact host and port, is allowed.
	svc := startService(t, map[string]any{"outbound.allow": strings.TrimPrefix(fixture.URL, "http://")})

	port := internal.port()
	hosts := []string{
		"127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
		"[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "localhost", "[::1]",
	}
	sync := func(t *testing.T, page map[string]any) {
		t.Helper()
		status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{"page": page})
		var p payload
		if err := json.Unmarshal(answer, &p); err != nil || status != http.StatusOK {
			t.Fatalf("sync answered %d: %s", status, answer)
		}
		if p.RenderStatus != "ERROR" || p.Error == nil || !strings.Contains(p.Error.Message, "refused") {
			t.Errorf("render was not refused: %s", answer)
		}
	}

	for _, host := range hosts {
		target := "http://" + host + ":" + port + "/admin"
		t.Run(host, func(t *testing.T) {
			t.Run("goto", func(t *testing.T) {
				sync(t, map[string]any{"goto": map[string]any{"url": target}})
			})
			t.Run("redirect", func(t *testing.T) {
				sync(t, map[string]any{"goto": map[string]any{"url": fixture.URL + "/?to=" + target}})
			})
			t.Run("webhook", func(t *testing.T) {
				status, answer, _ := svc.call(t, "/v1/render/pdf/async", map[string]any{
					"page":   map[string]any{"setContent": map[string]any{"html": b64("<p>hook</p>")}},
					"doppio": map[string]any{"webhook": map[string]any{"url": target, "method": "POST"}},
				})
				if status != http.StatusBadRequest || !strings.Contains(string(answer), "doppio.webhook.url is not allowed") {
					t.Errorf("webhook to %s answered %d: %s", target, status, answer)
				}
			})
			t.Run("presigned", func(t *testing.T) {
				status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{
					"page":   map[string]any{"setContent": map[string]any{"html": b64("<p>upload</p>")}},
					"doppio": map[string]any{"presignedUrl": target + "?X-Amz-Signature=secret"},
				})
				if status != http.StatusBadRequest || !strings.Contains(string(answer), "doppio.presignedUrl is not allowed") {
					t.Errorf("presigned URL %s answered %d: %s", target, status, answer)
				}
				if strings.Contains(string(answer), "X-Amz-Signature") {
					t.Errorf("the answer quotes the presigned URL's signature: %s", answer)
				}
			})
		})
	}

	// Sub-resources, tried with a few of the spellings.
	for _, host := range []string{"127.0.0.1", "2130706433", "[::ffff:127.0.0.1]"} {
		hostPort := host + ":" + port
		target := "http://" + hostPort + "/admin"
		pages := map[string]string{
			"img":          `<img src="` + target + `">`,
			"iframe":       `<iframe src="` + target + `"></iframe>`,
			"fetch":        `<script>fetch("` + target + `").catch(() => {})</script>`,
			"websocket":    `<script>try { new WebSocket("ws://` + hostPort + `/socket") } catch (e) {}</script>`,
			"meta refresh": `<meta http-equiv="refresh" content="0;url=` + target + `"><p>moving</p>`,
		}
		for name, html := range pages {
			t.Run(host+"/"+name, func(t *testing.T) {
				sync(t, map[string]any{
					"setContent": map[string]any{"html": b64(html), "options": map[string]any{"waitUntil": []string{"networkidle0"}}},
				})
			})
		}
	}

	if n := internal.connections.Load(); n != 0 {
		t.Fatalf("the internal service accepted %d connections", n)
	}

	t.Run("fixture allowed", func(t *testing.T) {
		status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{"page": map[string]any{"goto": map[string]any{"url": fixture.URL}}})
		var p payload
		if err := json.Unmarshal(answer, &p); err != nil || status != http.StatusOK || p.RenderStatus != "SUCCESS" {
			t.Errorf("the allowed fixture answered %d: %s", status, answer)
		}
	})
}

package chromium

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"
)

// session sends DevTools commands to one target, or to the browser when id
// is empty, bounded by ctx. It implements proto.Client, so the typed
// requests of rod's proto package run through it: proto.PageNavigate{}.Call(s).
//
// It writes to the CDP connection directly instead of through rod.Browser
// or rod.Page, because rod.Browser.Call (v0.116.2) keeps the parameters of
// every command in a map that lives as long as the browser. With one
// long-lived browser, that map would keep every document ever rendered:
// 40 renders of distinct 1 MiB documents through rod.Page.SetDocumentContent
// kept 41 MiB of Go heap after garbage collection. TestRenderRetainsNoDocument
// checks that this package keeps none.
type session struct {
	conn *cdp.Client
	ctx  context.Context
	id   proto.TargetSessionID
}

var (
	_ proto.Client      = session{}
	_ proto.Contextable = session{}
	_ proto.Sessionable = session{}
)

// Call sends one command and returns its raw result.
func (s session) Call(ctx context.Context, sessionID, method string, params any) ([]byte, error) {
	return s.conn.Call(ctx, sessionID, method, params)
}

// GetContext returns the context that bounds every command of s.
func (s session) GetContext() context.Context { return s.ctx }

// GetSessionID returns the target's session, empty for the browser.
func (s session) GetSessionID() proto.TargetSessionID { return s.id }

// withContext returns a copy of s whose commands are bounded by ctx.
func (s session) withContext(ctx context.Context) session {
	s.ctx = ctx
	return s
}

// call sends a command whose parameters have no type in rod's proto
// package, or whose type drops fields that must be sent, and decodes the
// result into result unless it is nil.
func (s session) call(method string, params, result any) error {
	raw, err := s.conn.Call(s.ctx, string(s.id), method, params)
	if err != nil {
		return err
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("decoding the result of %s: %w", method, err)
	}
	return nil
}

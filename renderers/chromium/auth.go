package chromium

import (
	"context"
	"log/slog"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// authenticator responds to the HTTP authentication challenges of one tab
// with the credentials of page.authenticate, as Puppeteer's
// page.authenticate does. The Fetch domain issues authRequired events for
// the requests it intercepts, so the authenticator intercepts every request
// of the tab and continues it unchanged.
//
// The credentials go to a server's challenge once per request. Chromium
// repeats the challenge when the credentials are wrong, and the repeat is
// cancelled, so that the server's 401 page is rendered instead of looping.
// Proxy challenges get Chromium's default response, because the
// credentials are the caller's, for the caller's servers, not for a proxy
// in front of Presso.
type authenticator struct {
	session     session
	credentials engine.Credentials
	logger      *slog.Logger
	// credentialsSent contains the requests whose challenge received the
	// credentials. Only the event goroutine uses it.
	credentialsSent map[proto.FetchRequestID]bool
	// decodeFailed records that an event failed to decode, to log it once.
	decodeFailed bool
}

// watchAuthentication subscribes to the tab's Fetch events until ctx ends.
// Chromium sends them once enable is called.
func watchAuthentication(ctx context.Context, p *page, credentials engine.Credentials, logger *slog.Logger) *authenticator {
	a := &authenticator{
		session:         p.session,
		credentials:     credentials,
		logger:          logger,
		credentialsSent: map[proto.FetchRequestID]bool{},
	}
	events := p.browser.rod.Context(ctx).Event()
	go a.run(events)
	return a
}

// enable pauses every request of the tab and turns on authRequired events.
func (a *authenticator) enable() error {
	return proto.FetchEnable{
		Patterns:           []*proto.FetchRequestPattern{{URLPattern: "*"}},
		HandleAuthRequests: true,
	}.Call(a.session)
}

func (a *authenticator) run(events <-chan *rod.Message) {
	for msg := range events {
		if msg.SessionID == a.session.id {
			a.handleDecodable(msg)
		}
	}
}

// handleDecodable handles msg and survives an event that does not decode,
// as loadWatcher.handleDecodable does.
func (a *authenticator) handleDecodable(msg *rod.Message) {
	defer func() {
		if v := recover(); v != nil && !a.decodeFailed {
			a.decodeFailed = true
			a.logger.Warn("ignoring Fetch events that do not decode; requests of this render may stall", "method", msg.Method, "error", v)
		}
	}()
	a.handle(msg)
}

func (a *authenticator) handle(msg *rod.Message) {
	var (
		paused   proto.FetchRequestPaused
		required proto.FetchAuthRequired
	)
	switch {
	case msg.Load(&paused):
		if err := (proto.FetchContinueRequest{RequestID: paused.RequestID}).Call(a.session); err != nil {
			a.logDropped("continuing a paused request failed", err)
		}
	case msg.Load(&required):
		response := a.respond(required)
		err := proto.FetchContinueWithAuth{RequestID: required.RequestID, AuthChallengeResponse: response}.Call(a.session)
		if err != nil {
			a.logDropped("responding to an authentication challenge failed", err)
			return
		}
		if required.AuthChallenge != nil {
			a.logger.Debug("responded to an authentication challenge", "origin", required.AuthChallenge.Origin, "response", response.Response)
		}
	}
}

// respond returns the response to one challenge.
func (a *authenticator) respond(required proto.FetchAuthRequired) *proto.FetchAuthChallengeResponse {
	challenge := required.AuthChallenge
	switch {
	case challenge != nil && challenge.Source == proto.FetchAuthChallengeSourceProxy:
		return &proto.FetchAuthChallengeResponse{Response: proto.FetchAuthChallengeResponseResponseDefault}
	case a.credentialsSent[required.RequestID]:
		return &proto.FetchAuthChallengeResponse{Response: proto.FetchAuthChallengeResponseResponseCancelAuth}
	}
	a.credentialsSent[required.RequestID] = true
	return &proto.FetchAuthChallengeResponse{
		Response: proto.FetchAuthChallengeResponseResponseProvideCredentials,
		Username: a.credentials.Username,
		Password: a.credentials.Password,
	}
}

// logDropped logs a failed Fetch command, unless the render has ended:
// the tab is then closing and the command's failure means nothing.
func (a *authenticator) logDropped(msg string, err error) {
	if a.session.ctx.Err() != nil {
		return
	}
	a.logger.Warn(msg, "error", err)
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// renderBody is the JSON body of a render request for html, A4, with a
// webhook when hook is not empty.
func renderBody(html []byte, hook string) []byte {
	req := map[string]any{
		"page": map[string]any{
			"setContent": map[string]any{"html": base64.StdEncoding.EncodeToString(html)},
			"pdf":        map[string]any{"format": "A4"},
		},
	}
	if hook != "" {
		req["doppio"] = map[string]any{"webhook": map[string]any{"url": hook, "method": "POST"}}
	}
	data, _ := json.Marshal(req)
	return data
}

// directPDF sends one direct render and checks that a PDF came back.
func directPDF(ctx context.Context, client *http.Client, base string, body []byte) (int, error) {
	data, err := post(ctx, client, base+"/v1/render/pdf/direct", body)
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(data, []byte("%PDF")) {
		return 0, fmt.Errorf("the response is not a PDF: %.100q", data)
	}
	return len(data), nil
}

// loopResult is one closed-loop batch.
type loopResult struct {
	latencies []time.Duration
	wall      time.Duration
	errors    int
	firstErr  error
}

// closedLoop runs n calls of do on conc workers, each worker starting its
// next call when its last one returns. do gets the worker's index.
func closedLoop(n, conc int, do func(worker int) error) loopResult {
	var next atomic.Int64
	per := make([][]time.Duration, conc)
	var mu sync.Mutex
	var res loopResult
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				err := do(w)
				d := time.Since(t0)
				if err != nil {
					mu.Lock()
					res.errors++
					if res.firstErr == nil {
						res.firstErr = err
					}
					mu.Unlock()
					continue
				}
				per[w] = append(per[w], d)
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(begin)
	for _, l := range per {
		res.latencies = append(res.latencies, l...)
	}
	return res
}

// receiver is a webhook receiver on a free loopback port. It records when
// each webhook's body was read, by doppioRequestId, and responds 200.
// Presso's outbound guard refuses loopback addresses, so presso runs with
// outbound.allow set to the receiver's address.
type receiver struct {
	url      string
	hostPort string
	srv      *http.Server
	count    atomic.Int64
	mu       sync.Mutex
	arrivals map[string]time.Time
	waiters  map[string]chan struct{}
	record   bool
}

func startReceiver(record bool) (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + l.Addr().String() + "/hook", hostPort: l.Addr().String(), arrivals: map[string]time.Time{}, waiters: map[string]chan struct{}{}, record: record}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	at := time.Now()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.count.Add(1)
	if r.record {
		var payload struct {
			RequestID string `json:"doppioRequestId"`
		}
		if json.Unmarshal(body, &payload) == nil {
			r.mu.Lock()
			r.arrivals[payload.RequestID] = at
			if ch, ok := r.waiters[payload.RequestID]; ok {
				close(ch)
				delete(r.waiters, payload.RequestID)
			}
			r.mu.Unlock()
		}
	}
	w.WriteHeader(http.StatusOK)
}

// waitFor returns when the webhook of requestID arrived, which may be
// before waitFor is called.
func (r *receiver) waitFor(requestID string, limit time.Duration) (time.Time, error) {
	r.mu.Lock()
	at, ok := r.arrivals[requestID]
	ch := make(chan struct{})
	if !ok {
		r.waiters[requestID] = ch
	}
	r.mu.Unlock()
	if ok {
		return at, nil
	}
	select {
	case <-ch:
	case <-time.After(limit):
		return time.Time{}, fmt.Errorf("no webhook for %s within %s", requestID, limit)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrivals[requestID], nil
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

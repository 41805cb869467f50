package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

type resultC struct {
	Run    *runInfo `json:"run"`
	Method string   `json:"method"`
	Rate   int      `json:"ratePerSecond"`
	// Seconds is the measured time; Sent the requests scheduled in it.
	Seconds float64 `json:"seconds"`
	Sent    int     `json:"sent"`
	// Rejected counts the 429 and 503 responses of Presso's queue bounds
	// (limits.max_queued, limits.max_queued_per_key); Errors the other
	// failures. Both are left out of Accept and Service.
	Rejected   int          `json:"rejected"`
	Reject     latencyStats `json:"rejectLatency"`
	Errors     int          `json:"errors"`
	FirstError string       `json:"firstError,omitempty"`
	// Accept runs from each request's scheduled send time to its 200
	// response, so a send delayed by a stall counts its delay.
	Accept latencyStats `json:"accept"`
	// Service runs from the actual send to the response.
	Service latencyStats `json:"service"`
	// SendLateness is how late the pacer sent, against the schedule.
	SendLateness latencyStats `json:"sendLateness"`
	// WebhooksInWindow counts the renders delivered during the measured
	// time, which shows that rendering was running.
	WebhooksInWindow int64    `json:"webhooksInWindow"`
	CPU              cpuShare `json:"cpu"`
	QueuedAtEnd      int64    `json:"jobsNotDeliveredAtEnd"`
}

func runC(b *bench) error {
	res := &resultC{Run: currentRun, Rate: b.opts.rate, Method: fmt.Sprintf(
		"presso with defaults (max_pages = CPUs), outbound.allow set to the receiver, server.shutdown_timeout=%s and %s; open loop: request i is sent at start + i/rate "+
			"by its own goroutine, whatever the others do; %s of pacing not counted, then %s measured; the invoice is rendered for each "+
			"accepted job and delivered to a local receiver; the backlog left at the end is dropped by stopping presso",
		b.opts.shutdownFor, boundsNote(b.opts.unbounded), b.opts.rateWarmup, b.opts.rateFor)}
	b.results.C = res
	rcv, err := startReceiver(false)
	if err != nil {
		return err
	}
	defer rcv.close()
	sets := []string{"server.shutdown_timeout=" + b.opts.shutdownFor.String(), "outbound.allow=" + rcv.hostPort}
	if b.opts.unbounded {
		sets = append(sets, "limits.max_queued=0", "limits.max_queued_per_key=0")
	}
	p, err := startPresso(b.presso, sets...)
	if err != nil {
		return err
	}
	defer func() {
		if _, err := p.stop(); err != nil {
			logf("stopping presso: %v", err)
		}
	}()
	ctx := context.Background()
	client := httpClient(30 * time.Second)
	body := renderBody(b.invoice, rcv.url)
	// Open keep-alive connections before the clock starts.
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := client.Get(p.base + "/healthz"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	interval := time.Second / time.Duration(b.opts.rate)
	warm := int(b.opts.rateWarmup / interval)
	n := int(b.opts.rateFor / interval)
	type sample struct {
		accept, service, late time.Duration
		err                   error
	}
	samples := make([]sample, warm+n)
	var hooksAtStart, hooksAtEnd int64
	var cpuA, cpuB cpuSnapshot
	begin := time.Now()
	for i := range warm + n {
		due := begin.Add(time.Duration(i) * interval)
		if i == warm {
			time.Sleep(time.Until(due))
			hooksAtStart = rcv.count.Load()
			cpuA = takeCPUSnapshot()
		}
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			data, err := post(ctx, client, p.base+"/v1/render/pdf/async", body)
			done := time.Now()
			if err == nil {
				var ack struct {
					JobID string `json:"jobId"`
				}
				if err = json.Unmarshal(data, &ack); err == nil && ack.JobID == "" {
					err = fmt.Errorf("async response without jobId: %.200s", data)
				}
			}
			samples[i] = sample{accept: done.Sub(due), service: done.Sub(sent), late: sent.Sub(due), err: err}
		}()
	}
	end := begin.Add(time.Duration(warm+n) * interval)
	time.Sleep(time.Until(end))
	hooksAtEnd = rcv.count.Load()
	cpuB = takeCPUSnapshot()
	wg.Wait()

	var accept, service, late, rejected []time.Duration
	for _, s := range samples[warm:] {
		var se *statusError
		if errors.As(s.err, &se) && (se.code == http.StatusTooManyRequests || se.code == http.StatusServiceUnavailable) {
			res.Rejected++
			rejected = append(rejected, s.accept)
			continue
		}
		if s.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = s.err.Error()
			}
			continue
		}
		accept = append(accept, s.accept)
		service = append(service, s.service)
		late = append(late, s.late)
	}
	res.Seconds = b.opts.rateFor.Seconds()
	res.Sent = n
	res.Accept = summarize(accept)
	res.Reject = summarize(rejected)
	res.Service = summarize(service)
	res.SendLateness = summarize(late)
	res.WebhooksInWindow = hooksAtEnd - hooksAtStart
	res.CPU = cpuBetween(cpuA, cpuB)
	res.QueuedAtEnd = int64(warm+n) - rcv.count.Load()
	logf("c %d rps: accept p50 %.2f ms p99 %.2f ms max %.2f ms; rejected %d, errors %d; %d webhooks in the window; %d jobs left",
		b.opts.rate, res.Accept.P50Ms, res.Accept.P99Ms, res.Accept.MaxMs, res.Rejected, res.Errors, res.WebhooksInWindow, res.QueuedAtEnd)
	return nil
}

func boundsNote(unbounded bool) string {
	if unbounded {
		return "limits.max_queued=0 and limits.max_queued_per_key=0 (no queue bound, so that every request is accepted)"
	}
	return "the default queue bounds (requests over them are answered 429 or 503 and counted as rejected)"
}

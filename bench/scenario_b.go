package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

type resultB struct {
	Run    *runInfo `json:"run"`
	Method string   `json:"method"`
	// EndToEnd runs from the 200 response of the async request to the
	// webhook's body having been read by the receiver.
	EndToEnd latencyStats `json:"endToEnd"`
	// MinusRenderDuration is EndToEnd minus renderDurationMs of
	// GET /v1/jobs/{jobId}, request by request. renderDurationMs is
	// truncated to whole milliseconds, so this overstates by 0.5 ms on
	// average.
	MinusRenderDuration latencyStats `json:"minusRenderDuration"`
	// MinusDirectP50 is EndToEnd minus the p50 of DirectLatency, the
	// other way to take the render out.
	MinusDirectP50 latencyStats `json:"minusDirectP50"`
	// FromSendMinusRenderDuration runs from the moment the async request
	// was sent instead of the 200 response. Rendering can start before the
	// response reaches the client, so the other measure can be negative.
	FromSendMinusRenderDuration latencyStats `json:"fromSendMinusRenderDuration"`
	DirectLatency               latencyStats `json:"directLatency"`
	RenderDuration              latencyStats `json:"renderDurationMs"`
	// From the job's own timestamps: from createdAt to renderedAt minus
	// the render (queue, temporary file, storage), and from renderedAt to
	// deliveredAt (notify message, delivery queue, webhook call).
	QueueAndStore   latencyStats `json:"createdToRenderedMinusRender"`
	RenderedToDeliv latencyStats `json:"renderedToDelivered"`
	CPU             cpuShare     `json:"cpu"`
}

type jobRecord struct {
	State        string     `json:"state"`
	RenderMillis int64      `json:"renderDurationMs"`
	CreatedAt    time.Time  `json:"createdAt"`
	RenderedAt   *time.Time `json:"renderedAt"`
	DeliveredAt  *time.Time `json:"deliveredAt"`
}

func runB(b *bench) error {
	const warmup, directN = 10, 50
	res := &resultB{Run: currentRun, Method: fmt.Sprintf(
		"presso with defaults (max_pages = CPUs) and outbound.allow set to the receiver; %d direct renders at concurrency 1 give DirectLatency; then %d async renders "+
			"(after %d not counted), one at a time, each waiting for its webhook and its job record (state delivered)",
		directN, b.opts.asyncRequests, warmup)}
	b.results.B = res
	rcv, err := startReceiver(true)
	if err != nil {
		return err
	}
	defer rcv.close()
	p, err := startPresso(b.presso, "outbound.allow="+rcv.hostPort)
	if err != nil {
		return err
	}
	defer func() {
		if _, err := p.stop(); err != nil {
			logf("stopping presso: %v", err)
		}
	}()
	ctx := context.Background()
	client := httpClient(2 * time.Minute)
	direct := renderBody(b.invoice, "")
	if r := closedLoop(warmup, 1, func(int) error { _, err := directPDF(ctx, client, p.base, direct); return err }); r.errors > 0 {
		return r.firstErr
	}
	d := closedLoop(directN, 1, func(int) error { _, err := directPDF(ctx, client, p.base, direct); return err })
	if d.errors > 0 {
		return d.firstErr
	}
	res.DirectLatency = summarize(d.latencies)

	async := renderBody(b.invoice, rcv.url)
	var e2e, minusRender, minusDirect, fromSend, render, queue, deliver []time.Duration
	directP50 := time.Duration(res.DirectLatency.P50Ms * float64(time.Millisecond))
	before := takeCPUSnapshot()
	for i := range warmup + b.opts.asyncRequests {
		sent := time.Now()
		data, err := post(ctx, client, p.base+"/v1/render/pdf/async", async)
		accepted := time.Now()
		if err != nil {
			return err
		}
		var ack struct {
			RequestID string `json:"requestId"`
			JobID     string `json:"jobId"`
		}
		if err := json.Unmarshal(data, &ack); err != nil {
			return err
		}
		hook, err := rcv.waitFor(ack.RequestID, time.Minute)
		if err != nil {
			return err
		}
		rec, err := waitDelivered(ctx, client, p.base, ack.JobID)
		if err != nil {
			return err
		}
		if i < warmup {
			continue
		}
		total := hook.Sub(accepted)
		r := time.Duration(rec.RenderMillis) * time.Millisecond
		e2e = append(e2e, total)
		minusRender = append(minusRender, total-r)
		minusDirect = append(minusDirect, total-directP50)
		fromSend = append(fromSend, hook.Sub(sent)-r)
		render = append(render, r)
		queue = append(queue, rec.RenderedAt.Sub(rec.CreatedAt)-r)
		deliver = append(deliver, rec.DeliveredAt.Sub(*rec.RenderedAt))
	}
	res.CPU = cpuBetween(before, takeCPUSnapshot())
	res.EndToEnd = summarize(e2e)
	res.MinusRenderDuration = summarize(minusRender)
	res.MinusDirectP50 = summarize(minusDirect)
	res.FromSendMinusRenderDuration = summarize(fromSend)
	res.RenderDuration = summarize(render)
	res.QueueAndStore = summarize(queue)
	res.RenderedToDeliv = summarize(deliver)
	logf("b end-to-end p50 %.2f ms; minus renderDurationMs p50 %.2f ms; minus direct p50 %.2f ms; direct p50 %.2f ms",
		res.EndToEnd.P50Ms, res.MinusRenderDuration.P50Ms, res.MinusDirectP50.P50Ms, res.DirectLatency.P50Ms)
	return nil
}

// waitDelivered polls GET /v1/jobs/{jobId} until the job is delivered: the
// receiver has the webhook a moment before presso records it.
func waitDelivered(ctx context.Context, client *http.Client, base, jobID string) (*jobRecord, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/jobs/"+jobID, nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET /v1/jobs/%s: %s: %.300s", jobID, resp.Status, data)
		}
		var rec jobRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, err
		}
		if rec.State == "delivered" && rec.RenderedAt != nil && rec.DeliveredAt != nil {
			return &rec, nil
		}
		if rec.State == "failed" || time.Now().After(deadline) {
			return nil, fmt.Errorf("job %s is %s: %.300s", jobID, rec.State, data)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

package engine

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus series of the pipeline. A nil *Metrics records
// nothing, so that programs embedding the engine need not export metrics.
type Metrics struct {
	stageDuration   *prometheus.HistogramVec
	jobs            *prometheus.CounterVec
	rendersInFlight prometheus.Gauge
	queueDepth      prometheus.Gauge
	webhookAttempts *prometheus.CounterVec
	webhookDuration prometheus.Histogram
	browserRestarts prometheus.Counter
	outboundRefused prometheus.Counter
}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "presso_job_stage_duration_seconds",
			Help:    "Time a job spends in each stage: queue (accepted to render start), render, store.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind", "stage"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presso_jobs_total",
			Help: "Jobs rendered by this process, by kind, mode and render status.",
		}, []string{"kind", "mode", "status"}),
		rendersInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presso_renders_in_flight",
			Help: "Renders running in this process.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "presso_render_queue_depth",
			Help: "Render jobs received by this process and waiting for a free render slot.",
		}),
		webhookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presso_webhook_attempts_total",
			Help: "Webhook calls by outcome: success, http_error, timeout or connection_error.",
		}, []string{"outcome"}),
		webhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "presso_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook calls.",
			Buckets: prometheus.DefBuckets,
		}),
		browserRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presso_browser_restarts_total",
			Help: "Browser restarts after a crash, a failed health check or a recycle.",
		}),
		outboundRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presso_outbound_refused_total",
			Help: "Outbound connections refused by the network guard.",
		}),
	}
	reg.MustRegister(m.stageDuration, m.jobs, m.rendersInFlight, m.queueDepth,
		m.webhookAttempts, m.webhookDuration, m.browserRestarts, m.outboundRefused)
	return m
}

// ObserveStage records the duration of one stage of a job.
func (m *Metrics) ObserveStage(kind Kind, stage string, d time.Duration) {
	if m != nil {
		m.stageDuration.WithLabelValues(string(kind), stage).Observe(d.Seconds())
	}
}

// CountJob counts a rendered job.
func (m *Metrics) CountJob(job *Job, status RenderStatus) {
	if m != nil {
		m.jobs.WithLabelValues(string(job.Kind), string(job.Mode), string(status)).Inc()
	}
}

// AddRendersInFlight moves the in-flight gauge by delta.
func (m *Metrics) AddRendersInFlight(delta float64) {
	if m != nil {
		m.rendersInFlight.Add(delta)
	}
}

// AddQueueDepth moves the queue gauge by delta.
func (m *Metrics) AddQueueDepth(delta float64) {
	if m != nil {
		m.queueDepth.Add(delta)
	}
}

// CountAttempt counts a webhook call by its outcome.
func (m *Metrics) CountAttempt(a Attempt) {
	if m == nil {
		return
	}
	outcome := "success"
	switch {
	case a.Succeeded():
	case a.StatusCode != 0:
		outcome = "http_error"
	case strings.Contains(a.Error, "timed out"):
		outcome = "timeout"
	default:
		outcome = "connection_error"
	}
	m.webhookAttempts.WithLabelValues(outcome).Inc()
	m.webhookDuration.Observe(a.Duration.Seconds())
}

// CountBrowserRestart counts one browser restart; renderers call it.
func (m *Metrics) CountBrowserRestart() {
	if m != nil {
		m.browserRestarts.Inc()
	}
}

// CountOutboundRefused counts one connection refused by the network guard.
func (m *Metrics) CountOutboundRefused() {
	if m != nil {
		m.outboundRefused.Inc()
	}
}

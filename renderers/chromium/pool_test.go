package chromium

import (
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// invoiceHTML is a one-page invoice, the document of the benchmarks.
const invoiceHTML = `<html><head><style>
body { font-family: sans-serif; margin: 2cm; }
table { width: 100%; border-collapse: collapse; }
td, th { border-bottom: 1px solid #ccc; padding: 4px; text-align: left; }
</style></head><body>
<h1>Invoice 42</h1>
<p>Presso Ltd, 1 Example Street</p>
<table>
<tr><th>Item</th><th>Quantity</th><th>Price</th></tr>
<tr><td>Rendering</td><td>1000</td><td>10.00</td></tr>
<tr><td>Storage</td><td>1</td><td>2.00</td></tr>
<tr><td>Total</td><td></td><td>12.00</td></tr>
</table></body></html>`

// benchRenderer starts a renderer that keeps prepared tabs ready.
func benchRenderer(b *testing.B, prepared int) *Renderer {
	b.Helper()
	requireChromium(b)
	r, err := NewWithConfig(Config{Chromium: ChromiumConfig{Bin: testBin(), MaxPages: 2, PreparedPages: intPointer(prepared)}, Guard: loopbackGuard()}, testLogger())
	if err != nil {
		b.Fatalf("NewWithConfig: %v", err)
	}
	b.Cleanup(func() { r.Close() })
	req := htmlRequest(invoiceHTML)
	for range 3 {
		if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
			b.Fatalf("warm-up render: %v", err)
		}
	}
	return r
}

// BenchmarkRenderPDFPreparedTabs compares renders of a one-page invoice
// with renderer.chromium.prepared_pages 0 and 1. "back-to-back" starts
// each render as the previous one returns. "after-idle" lets the renderer
// idle for 300 ms before each render (not timed), as a service does
// between two requests, so that the prepared tab is ready.
func BenchmarkRenderPDFPreparedTabs(b *testing.B) {
	req := htmlRequest(invoiceHTML)
	for _, prepared := range []int{0, 1} {
		for _, mode := range []string{"back-to-back", "after-idle"} {
			b.Run(mode+"/prepared="+string(rune('0'+prepared)), func(b *testing.B) {
				r := benchRenderer(b, prepared)
				for b.Loop() {
					if mode == "after-idle" {
						b.StopTimer()
						time.Sleep(300 * time.Millisecond)
						b.StartTimer()
					}
					if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRenderPDFPreparedTabsParallel renders with as many goroutines
// as GOMAXPROCS, back to back, with max_pages 2, for prepared_pages 0, 1
// and 2.
func BenchmarkRenderPDFPreparedTabsParallel(b *testing.B) {
	req := htmlRequest(invoiceHTML)
	for _, prepared := range []int{0, 1, 2} {
		b.Run("prepared="+string(rune('0'+prepared)), func(b *testing.B) {
			r := benchRenderer(b, prepared)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRenderPDFAfterIdleInterleaved measures the same two
// configurations as BenchmarkRenderPDFPreparedTabs after-idle, but
// alternates between them render by render, so that load from other
// processes on the machine weighs on both alike. It reports the mean
// duration of a render of each as ms/render-prepared=0 and =1.
func BenchmarkRenderPDFAfterIdleInterleaved(b *testing.B) {
	req := htmlRequest(invoiceHTML)
	renderers := []*Renderer{benchRenderer(b, 0), benchRenderer(b, 1)}
	totals := make([]time.Duration, len(renderers))
	n := 0
	for b.Loop() {
		for i, r := range renderers {
			b.StopTimer()
			time.Sleep(300 * time.Millisecond)
			b.StartTimer()
			started := time.Now()
			if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
				b.Fatal(err)
			}
			totals[i] += time.Since(started)
		}
		n++
	}
	for i, total := range totals {
		b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/render-prepared="+string(rune('0'+i)))
	}
}

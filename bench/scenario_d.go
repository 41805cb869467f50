package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type resultD struct {
	Run         *runInfo `json:"run"`
	Method      string   `json:"method"`
	Renders     int      `json:"renders"`
	Concurrency int      `json:"concurrency"`
	Errors      int      `json:"errors"`
	Seconds     float64  `json:"seconds"`
	// Start is before the first render, AfterWarmup after WarmupRenders.
	Start         memSample `json:"start"`
	WarmupRenders int       `json:"warmupRenders"`
	AfterWarmup   memSample `json:"afterWarmup"`
	// Min, Max and Last of the samples from AfterWarmup on, in MiB.
	After memRange `json:"afterWarmupRange"`
	// SlopeMiBPer1000 is the least-squares slope of the total RSS against
	// the render count, from AfterWarmup on.
	SlopeMiBPer1000    float64     `json:"totalRssSlopeMiBPer1000Renders"`
	PSSSlopeMiBPer1000 float64     `json:"totalPssSlopeMiBPer1000Renders"`
	CPU                cpuShare    `json:"cpu"`
	Samples            []memSample `json:"samples"`
	CSV                string      `json:"csv"`
	Chart              string      `json:"chart"`
}

type memRange struct {
	PressoMin    float64 `json:"pressoMinMiB"`
	PressoMax    float64 `json:"pressoMaxMiB"`
	PressoLast   float64 `json:"pressoLastMiB"`
	ChromiumMin  float64 `json:"chromiumMinMiB"`
	ChromiumMax  float64 `json:"chromiumMaxMiB"`
	ChromiumLast float64 `json:"chromiumLastMiB"`
	TotalMin     float64 `json:"totalMinMiB"`
	TotalMax     float64 `json:"totalMaxMiB"`
	TotalLast    float64 `json:"totalLastMiB"`
	PSSMin       float64 `json:"pssMinMiB"`
	PSSMax       float64 `json:"pssMaxMiB"`
	PSSLast      float64 `json:"pssLastMiB"`
}

func runD(b *bench) error {
	res := &resultD{Run: currentRun, Renders: b.opts.renders, Concurrency: b.opts.memConc, WarmupRenders: b.opts.memWarmup,
		Method: fmt.Sprintf("presso with renderer.chromium.max_pages=%d; %d direct invoice renders, closed loop at concurrency %d; "+
			"RSS (from /proc/PID/statm) and PSS (from /proc/PID/smaps_rollup) of presso and every process below it sampled before the "+
			"first render and after every %d renders",
			b.opts.memConc, b.opts.renders, b.opts.memConc, b.opts.sampleEvery)}
	b.results.D = res
	p, err := startPresso(b.presso, "renderer.chromium.max_pages="+strconv.Itoa(b.opts.memConc))
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
	body := renderBody(b.invoice, "")

	begin := time.Now()
	take := func(renders int) memSample {
		s := sampleTree(p.pid(), true)
		s.Renders = renders
		s.Seconds = round2(time.Since(begin).Seconds())
		return s
	}
	res.Start = take(0)
	samples := []memSample{res.Start}
	var mu sync.Mutex
	var done atomic.Int64
	due := make(chan int, 1024)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for n := range due {
			s := take(n)
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			if n%1000 == 0 {
				logf("d %d renders: presso %.1f MiB, chromium %.1f MiB (%d processes), PSS total %.1f MiB",
					n, mib(s.PressoRSS), mib(s.ChromiumRSS), s.ChromiumProcs, mib(s.TotalPSS))
			}
		}
	}()
	cpuA := takeCPUSnapshot()
	loop := closedLoop(b.opts.renders, b.opts.memConc, func(int) error {
		_, err := directPDF(ctx, client, p.base, body)
		if n := done.Add(1); n%int64(b.opts.sampleEvery) == 0 {
			due <- int(n)
		}
		return err
	})
	close(due)
	<-sampled
	res.CPU = cpuBetween(cpuA, takeCPUSnapshot())
	res.Seconds = round1(loop.wall.Seconds())
	res.Errors = loop.errors
	if loop.firstErr != nil {
		logf("d: %d errors, first: %v", loop.errors, loop.firstErr)
	}
	// Samples are taken in order of the counter, but the sampler may
	// lag; sort by render count for the chart.
	sortSamples(samples)
	res.Samples = samples
	var xs, ys, ps []float64
	first := true
	for _, s := range samples {
		if s.Renders < b.opts.memWarmup {
			continue
		}
		if first {
			res.AfterWarmup = s
			res.After = memRange{PressoMin: mib(s.PressoRSS), ChromiumMin: mib(s.ChromiumRSS), TotalMin: mib(s.TotalRSS), PSSMin: mib(s.TotalPSS)}
			first = false
		}
		r := &res.After
		r.PressoMin, r.PressoMax, r.PressoLast = min(r.PressoMin, mib(s.PressoRSS)), max(r.PressoMax, mib(s.PressoRSS)), mib(s.PressoRSS)
		r.ChromiumMin, r.ChromiumMax, r.ChromiumLast = min(r.ChromiumMin, mib(s.ChromiumRSS)), max(r.ChromiumMax, mib(s.ChromiumRSS)), mib(s.ChromiumRSS)
		r.TotalMin, r.TotalMax, r.TotalLast = min(r.TotalMin, mib(s.TotalRSS)), max(r.TotalMax, mib(s.TotalRSS)), mib(s.TotalRSS)
		r.PSSMin, r.PSSMax, r.PSSLast = min(r.PSSMin, mib(s.TotalPSS)), max(r.PSSMax, mib(s.TotalPSS)), mib(s.TotalPSS)
		xs = append(xs, float64(s.Renders))
		ys = append(ys, float64(s.TotalRSS)/(1<<20))
		ps = append(ps, float64(s.TotalPSS)/(1<<20))
	}
	res.SlopeMiBPer1000 = round2(slope(xs, ys) * 1000)
	res.PSSSlopeMiBPer1000 = round2(slope(xs, ps) * 1000)
	logf("d start %.1f MiB, after warm-up %.1f MiB, range %.1f–%.1f MiB, last %.1f MiB, slope %.2f MiB/1000 renders",
		mib(res.Start.TotalRSS), mib(res.AfterWarmup.TotalRSS), res.After.TotalMin, res.After.TotalMax, res.After.TotalLast, res.SlopeMiBPer1000)

	res.CSV = "d-memory.csv"
	if err := writeMemCSV(filepath.Join(b.opts.chartDir, res.CSV), samples); err != nil {
		return err
	}
	res.Chart = "d-memory.png"
	return chartMemory(filepath.Join(b.opts.chartDir, res.Chart), fmt.Sprintf("RSS over %d direct renders", b.opts.renders), "Renders", samples, func(s memSample) float64 { return float64(s.Renders) })
}

func sortSamples(s []memSample) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Renders < s[j-1].Renders; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func writeMemCSV(path string, samples []memSample) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"renders", "seconds", "presso_rss_bytes", "chromium_rss_bytes", "other_rss_bytes", "total_rss_bytes", "total_pss_bytes", "chromium_processes"})
	for _, s := range samples {
		_ = w.Write([]string{strconv.Itoa(s.Renders), strconv.FormatFloat(s.Seconds, 'f', 2, 64),
			strconv.FormatInt(s.PressoRSS, 10), strconv.FormatInt(s.ChromiumRSS, 10), strconv.FormatInt(s.OtherRSS, 10),
			strconv.FormatInt(s.TotalRSS, 10), strconv.FormatInt(s.TotalPSS, 10), strconv.Itoa(s.ChromiumProcs)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	logf("wrote %s", path)
	return f.Close()
}

// chartMemory draws presso's, Chromium's and the total RSS, and the total
// PSS when sampled, against x.
func chartMemory(path, title, xLabel string, samples []memSample, x func(memSample) float64) error {
	pr := series{name: "Presso RSS", color: colBlue}
	ch := series{name: "Chromium RSS (sum)", color: colOrange}
	tot := series{name: "Total RSS", color: colRed}
	pss := series{name: "Total PSS", color: colGreen}
	for _, s := range samples {
		xv := x(s)
		pr.x, pr.y = append(pr.x, xv), append(pr.y, float64(s.PressoRSS)/(1<<20))
		ch.x, ch.y = append(ch.x, xv), append(ch.y, float64(s.ChromiumRSS)/(1<<20))
		tot.x, tot.y = append(tot.x, xv), append(tot.y, float64(s.TotalRSS)/(1<<20))
		if s.TotalPSS > 0 {
			pss.x, pss.y = append(pss.x, xv), append(pss.y, float64(s.TotalPSS)/(1<<20))
		}
	}
	all := []series{tot, ch, pr}
	if len(pss.x) > 0 {
		all = []series{tot, pss, ch, pr}
	}
	return savePNG(path, 900, 440, panel{title: title, xLabel: xLabel, yLabel: "MiB", series: all})
}

package main

import (
	"context"
	"fmt"
	"image/color"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Names of the series of scenario a.
const (
	seriesPresso = "presso"
	seriesWarm   = "chromium-warm-tab"
	seriesFresh  = "chromium-fresh-context"
	seriesNewTab = "chromium-new-tab"
)

type resultA struct {
	Run    *runInfo `json:"run"`
	Method string   `json:"method"`
	// Chromium is the version both Presso's renderer and the baseline ran.
	Chromium string `json:"chromium"`
	// ChromiumFlags is the command line of Presso's Chromium at the first
	// level, without user data dir and ports. Each level lists how the
	// baseline's differs.
	ChromiumFlags []string `json:"chromiumFlags"`
	// Renderers counts the distinct Chromium renderer processes seen
	// during RendererProbeRenders sequential renders of each series, after
	// the measurement: one per render means each render starts a process.
	RendererProbeRenders int            `json:"rendererProbeRenders"`
	Renderers            map[string]int `json:"distinctRendererProcesses"`
	Levels               []levelA       `json:"levels"`
	Chart                string         `json:"chart"`
}

type levelA struct {
	Concurrency int           `json:"concurrency"`
	Series      []seriesStats `json:"series"`
	// PressoThroughputRatio is Presso's throughput over the warm tab's;
	// PressoP50DiffMs Presso's p50 minus the warm tab's.
	PressoThroughputRatio float64 `json:"pressoThroughputRatio"`
	PressoP50DiffMs       float64 `json:"pressoP50DiffMs"`
	// Chromium command-line flags of one instance that the other lacks,
	// user-data-dir and remote-debugging-port aside.
	FlagsOnlyPresso   []string `json:"flagsOnlyPresso"`
	FlagsOnlyBaseline []string `json:"flagsOnlyBaseline"`
}

type seriesStats struct {
	Series      string       `json:"series"`
	Requests    int          `json:"requests"`
	Errors      int          `json:"errors"`
	FirstError  string       `json:"firstError,omitempty"`
	Latency     latencyStats `json:"latency"`
	Throughput  float64      `json:"throughputPerSecond"`
	WallSeconds float64      `json:"wallSeconds"`
	PDFBytes    int          `json:"pdfBytes"`
	CPU         cpuShare     `json:"cpu"`
	// Steps are the median durations of the steps of the fresh-context
	// series.
	Steps []stepStat `json:"steps,omitempty"`
}

type stepStat struct {
	Step   string  `json:"step"`
	P50Ms  float64 `json:"p50Ms"`
	MeanMs float64 `json:"meanMs"`
}

func runA(b *bench) error {
	res := &resultA{Run: currentRun, Method: fmt.Sprintf(
		"closed loop; per level presso (renderer.chromium.max_pages = level, restarted per level) and a bare Chromium "+
			"(restarted per level) are started; %d warm-up requests per series, then %d measured requests per series "+
			"in %d rounds, series taking turns; throughput = measured requests / summed wall time of the series' batches",
		b.opts.warmup, b.opts.requests, b.opts.rounds)}
	b.results.A = res
	for _, c := range b.opts.levels {
		level, version, err := b.measureLevel(c)
		if err != nil {
			return fmt.Errorf("concurrency %d: %w", c, err)
		}
		res.Chromium = version
		res.Levels = append(res.Levels, level)
		for _, s := range level.Series {
			logf("a c=%d %-24s p50 %7.2f ms  p90 %7.2f ms  %6.2f req/s  errors %d  others' CPU %.1f%%",
				c, s.Series, s.Latency.P50Ms, s.Latency.P90Ms, s.Throughput, s.Errors, s.CPU.OthersPct)
		}
	}
	res.Chart = "a-concurrency.png"
	return chartA(res, filepath.Join(b.opts.chartDir, res.Chart))
}

func (b *bench) measureLevel(c int) (levelA, string, error) {
	level := levelA{Concurrency: c}
	p, err := startPresso(b.presso, "renderer.chromium.max_pages="+strconv.Itoa(c))
	if err != nil {
		return level, "", err
	}
	defer func() {
		if _, err := p.stop(); err != nil {
			logf("stopping presso: %v", err)
		}
	}()
	bc, err := launchBareChromium(b.opts.chromiumBin)
	if err != nil {
		return level, "", err
	}
	defer bc.close()
	version := bc.version()
	pressoChromium := chromiumBrowserPID(p.pid())
	if pressoChromium == 0 {
		return level, "", fmt.Errorf("no Chromium browser process below presso (pid %d)", p.pid())
	}
	level.FlagsOnlyPresso, level.FlagsOnlyBaseline = flagDiff(cmdline(pressoChromium), cmdline(bc.pid))
	if b.results.A.ChromiumFlags == nil {
		b.results.A.ChromiumFlags, _ = flagDiff(cmdline(pressoChromium), nil)
	}

	ctx := context.Background()
	tabs := make([]*warmTab, c)
	for i := range tabs {
		if tabs[i], err = bc.openWarmTab(ctx); err != nil {
			return level, "", err
		}
	}
	client := httpClient(2 * time.Minute)
	body := renderBody(b.invoice, "")
	html := string(b.invoice)
	var sizes [4]atomic.Int64

	var stepsMu sync.Mutex
	steps := make([][][]time.Duration, 4)
	recordSteps := false
	type runner struct {
		name string
		do   func(worker int) error
	}
	runners := []runner{
		{seriesPresso, func(int) error {
			n, err := directPDF(ctx, client, p.base, body)
			sizes[0].Store(int64(n))
			return err
		}},
		{seriesWarm, func(w int) error {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			n, err := tabs[w].render(cctx, html)
			sizes[1].Store(int64(n))
			return err
		}},
	}
	if b.opts.freshContext {
		fresh := func(series int, newContext bool) func(int) error {
			return func(int) error {
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				d := make([]time.Duration, len(freshSteps))
				n, err := bc.renderFreshContext(cctx, html, d, newContext)
				sizes[series].Store(int64(n))
				if err == nil && recordSteps {
					stepsMu.Lock()
					steps[series] = append(steps[series], d)
					stepsMu.Unlock()
				}
				return err
			}
		}
		runners = append(runners, runner{seriesFresh, fresh(2, true)}, runner{seriesNewTab, fresh(3, false)})
	}

	for _, r := range runners {
		if res := closedLoop(b.opts.warmup, c, r.do); res.errors > 0 {
			return level, "", fmt.Errorf("warm-up of %s: %d errors, first: %v", r.name, res.errors, res.firstErr)
		}
	}
	recordSteps = true

	type acc struct {
		loop       loopResult
		cpuA, cpuB cpuSnapshot
	}
	accs := make([]acc, len(runners))
	rounds := max(1, b.opts.rounds)
	for round := range rounds {
		quota := b.opts.requests / rounds
		if round == rounds-1 {
			quota = b.opts.requests - quota*(rounds-1)
		}
		for k := range runners {
			i := (k + round) % len(runners)
			before := takeCPUSnapshot()
			res := closedLoop(quota, c, runners[i].do)
			after := takeCPUSnapshot()
			a := &accs[i]
			a.loop.latencies = append(a.loop.latencies, res.latencies...)
			a.loop.wall += res.wall
			a.loop.errors += res.errors
			if a.loop.firstErr == nil {
				a.loop.firstErr = res.firstErr
			}
			a.cpuA.busy += before.busy
			a.cpuA.total += before.total
			a.cpuA.own += before.own
			a.cpuB.busy += after.busy
			a.cpuB.total += after.total
			a.cpuB.own += after.own
		}
	}
	for i, r := range runners {
		a := accs[i]
		s := seriesStats{
			Series:      r.name,
			Requests:    len(a.loop.latencies),
			Errors:      a.loop.errors,
			Latency:     summarize(a.loop.latencies),
			WallSeconds: round2(a.loop.wall.Seconds()),
			Throughput:  round2(float64(len(a.loop.latencies)) / a.loop.wall.Seconds()),
			PDFBytes:    int(sizes[i].Load()),
			CPU:         cpuBetween(a.cpuA, a.cpuB),
		}
		if a.loop.firstErr != nil {
			s.FirstError = a.loop.firstErr.Error()
		}
		if r.name == seriesFresh || r.name == seriesNewTab {
			for j, name := range freshSteps {
				if r.name == seriesNewTab && j < 2 {
					continue
				}
				var ms []float64
				var sum float64
				for _, d := range steps[i] {
					v := float64(d[j]) / float64(time.Millisecond)
					ms = append(ms, v)
					sum += v
				}
				s.Steps = append(s.Steps, stepStat{Step: name, P50Ms: round2(median(ms)), MeanMs: round2(sum / float64(max(1, len(ms))))})
			}
		}
		level.Series = append(level.Series, s)
	}
	if b.results.A.Renderers == nil {
		const probe = 10
		b.results.A.RendererProbeRenders = probe
		b.results.A.Renderers = map[string]int{}
		for _, r := range runners {
			root := bc.pid
			if r.name == seriesPresso {
				root = pressoChromium
			}
			n, err := countRenderers(root, func() { closedLoop(probe, 1, r.do) })
			if err != nil {
				return level, "", err
			}
			b.results.A.Renderers[r.name] = n
		}
		logf("a distinct renderer processes over %d renders: %v", probe, b.results.A.Renderers)
	}
	pr, warm := level.Series[0], level.Series[1]
	if warm.Throughput > 0 {
		level.PressoThroughputRatio = round2(pr.Throughput / warm.Throughput)
	}
	level.PressoP50DiffMs = round2(pr.Latency.P50Ms - warm.Latency.P50Ms)
	return level, version, nil
}

func chartA(res *resultA, path string) error {
	var labels []string
	names := []string{seriesPresso, seriesWarm, seriesFresh, seriesNewTab}
	legend := map[string]string{seriesPresso: "Presso (HTTP)", seriesWarm: "CDP, warm tab", seriesFresh: "CDP, new context per render",
		seriesNewTab: "CDP, new tab per render"}
	colours := map[string]color.RGBA{seriesPresso: colBlue, seriesWarm: colOrange, seriesFresh: colGreen, seriesNewTab: colGrey}
	tp := map[string]*series{}
	p50 := map[string]*series{}
	for i, l := range res.Levels {
		labels = append(labels, strconv.Itoa(l.Concurrency))
		for _, s := range l.Series {
			if tp[s.Series] == nil {
				tp[s.Series] = &series{name: legend[s.Series], color: colours[s.Series], markers: true}
				p50[s.Series] = &series{name: legend[s.Series], color: colours[s.Series], markers: true}
			}
			tp[s.Series].x = append(tp[s.Series].x, float64(i))
			tp[s.Series].y = append(tp[s.Series].y, s.Throughput)
			p50[s.Series].x = append(p50[s.Series].x, float64(i))
			p50[s.Series].y = append(p50[s.Series].y, s.Latency.P50Ms)
		}
	}
	var tps, p50s []series
	for _, n := range names {
		if tp[n] != nil {
			tps = append(tps, *tp[n])
			p50s = append(p50s, *p50[n])
		}
	}
	return savePNG(path, 620, 440,
		panel{title: "Invoice PDF: throughput", xLabel: "Concurrent requests", yLabel: "Requests per second", series: tps, labels: labels},
		panel{title: "Invoice PDF: median latency", xLabel: "Concurrent requests", yLabel: "p50 (ms)", series: p50s, labels: labels})
}

// countRenderers runs fn while it lists the processes below root every
// 2 ms, and returns how many distinct Chromium renderer processes
// (--type=renderer) it saw.
func countRenderers(root int, fn func()) (int, error) {
	type id struct {
		pid   int
		start uint64
	}
	seen := map[id]bool{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, p := range descendants(procTable(), root) {
				if hasArg(p.pid, "--type=renderer") {
					seen[id{p.pid, p.startTime}] = true
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if len(seen) == 0 {
		return 0, fmt.Errorf("no renderer process seen below pid %d", root)
	}
	return len(seen), nil
}

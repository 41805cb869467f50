// Command bench measures Presso on this machine: direct PDF latency and
// throughput against bare Chromium, async overhead, accept latency under
// open-loop load, memory over many renders, and a 1,000-page PDF.
//
// Run it from the repository root:
//
//	go run ./bench -scenario a            # or b, c, d, e, all
//	go run ./bench -scenario a,b,c,e,d    # several, in this order
//	go run ./bench -scenario d -renders 1000
//
// It builds ./cmd/presso into a temporary folder (or uses -presso). It
// starts `presso serve` as a child process on a free loopback port with a
// temporary data dir and authentication off. At the end of each
// measurement it stops presso with SIGTERM, then kills and reports any
// process of presso's tree that is still running (none is expected).
//
// Scenarios:
//
//	a  direct PDF of cmd/presso/testdata/invoice.html at each concurrency of
//	   -levels, closed loop, Presso over HTTP side by side with the same
//	   Chromium driven over bare CDP: one warm tab per worker
//	   (Page.setDocumentContent + Page.printToPDF as a stream), and, to
//	   show where a gap comes from, the same CDP commands that Presso's
//	   renderer sends (a new incognito context and tab per render), and
//	   the same with a new tab in the default context, each step timed. Presso and the baseline Chromium are started again for
//	   each level, with renderer.chromium.max_pages equal to the level.
//	   After a warm-up, the requests of each series are split into
//	   -rounds rounds, and the series take turns, so that a change in the
//	   machine's load touches all of them alike.
//	b  async PDF, one at a time: from the moment the 200 answer arrives to
//	   the moment a local webhook receiver has read the webhook's body,
//	   minus renderDurationMs of GET /v1/jobs/{jobId}.
//	c  async accept latency at -c-rate requests per second, open loop
//	   (each request goes out at its scheduled time, whatever the others
//	   do; latency counts from the scheduled time), for -c-duration,
//	   while the accepted jobs render.
//	d  RSS of presso and of its Chromium processes every -sample-every
//	   direct renders over -renders renders.
//	e  a -pages-page PDF, in sync mode (the document streams to a file)
//	   and in direct mode (the document is held in memory): time and peak
//	   RSS, sampled every 50 ms.
//
// Results go to -o (bench/results/results.json), merged with the results of
// other scenarios already there, and charts to bench/results/*.png. Before
// each scenario it waits, up to -load-wait, for the one-minute load
// average to fall under -max-load, and it records the CPU time that other
// processes took during every measurement.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	scenario    string
	out         string
	chartDir    string
	pressoBin   string
	source      string
	chromiumBin string
	sets        []string
	maxLoad     float64
	loadWait    time.Duration

	levels       []int
	requests     int
	warmup       int
	rounds       int
	freshContext bool

	asyncRequests int

	rate        int
	rateFor     time.Duration
	rateWarmup  time.Duration
	shutdownFor time.Duration
	unbounded   bool

	renders     int
	sampleEvery int
	memWarmup   int
	memConc     int

	pages int
}

// Results is the JSON file that every scenario writes its part of.
type Results struct {
	Machine *machineInfo `json:"machine,omitempty"`
	A       *resultA     `json:"a,omitempty"`
	B       *resultB     `json:"b,omitempty"`
	C       *resultC     `json:"c,omitempty"`
	D       *resultD     `json:"d,omitempty"`
	E       *resultE     `json:"e,omitempty"`
}

// runInfo is the record of one scenario's run: command, time, load and
// the presso version.
type runInfo struct {
	Command     string     `json:"command"`
	StartedAt   time.Time  `json:"startedAt"`
	Seconds     float64    `json:"seconds"`
	LoadBefore  [3]float64 `json:"loadAverageBefore"`
	LoadAfter   [3]float64 `json:"loadAverageAfter"`
	LoadWaited  float64    `json:"loadWaitSeconds"`
	LoadTooHigh bool       `json:"loadStillAboveMaxAfterWait,omitempty"`
	// Source names what presso was built from: "head" (the commit
	// PressoCommit), "worktree" (HeadCommit plus the GitDirty files that
	// `git status --porcelain` lists), or a given binary.
	Source       string `json:"pressoSource"`
	PressoCommit string `json:"pressoCommit,omitempty"`
	HeadCommit   string `json:"headCommitAtStart"`
	GitDirty     int    `json:"gitDirtyFiles"`
}

type machineInfo struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpuModel"`
	MemoryMiB  int64  `json:"memoryMiB"`
	Kernel     string `json:"kernel"`
	Chromium   string `json:"chromium"`
	Go         string `json:"go"`
	RecordedAt string `json:"recordedAt"`
}

var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	var o options
	var levels string
	flag.StringVar(&o.scenario, "scenario", "", "a, b, c, d, e, a comma-separated list of them (run in that order), or all")
	flag.StringVar(&o.out, "o", "bench/results/results.json", "JSON results file; other scenarios' results in it are kept")
	flag.StringVar(&o.chartDir, "charts", "bench/results", "folder of the PNG charts")
	flag.StringVar(&o.pressoBin, "presso", "", "presso binary to run; empty builds ./cmd/presso from -source")
	flag.StringVar(&o.source, "source", "head", "what to build presso from: head (the committed HEAD, exported with git archive) or worktree")
	flag.StringVar(&o.chromiumBin, "chromium", "/usr/bin/chromium", "Chromium of presso and of the baseline")
	flag.Func("set", "a presso configuration value, key=value, for every presso the program starts; repeatable", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("give key=value")
		}
		o.sets = append(o.sets, v)
		return nil
	})
	flag.Float64Var(&o.maxLoad, "max-load", 1.5, "wait before each scenario until the 1-minute load average is under this")
	flag.DurationVar(&o.loadWait, "load-wait", 10*time.Minute, "longest wait for -max-load; 0 does not wait")
	flag.StringVar(&levels, "levels", "1,2,4,8", "a: concurrency levels")
	flag.IntVar(&o.requests, "requests", 200, "a: measured requests per series and level")
	flag.IntVar(&o.warmup, "warmup", 20, "a: warm-up requests per series and level")
	flag.IntVar(&o.rounds, "rounds", 4, "a: rounds the measured requests are split into, series taking turns")
	flag.BoolVar(&o.freshContext, "fresh-context", true, "a: also measure bare CDP with a new incognito context and tab per render (as Presso does) and with a new tab per render")
	flag.IntVar(&o.asyncRequests, "async-requests", 100, "b: measured async renders, one at a time")
	flag.IntVar(&o.rate, "c-rate", 500, "c: async requests per second")
	flag.DurationVar(&o.rateFor, "c-duration", 10*time.Second, "c: measured time")
	flag.DurationVar(&o.rateWarmup, "c-warmup", time.Second, "c: paced time before the measured time, not counted")
	flag.DurationVar(&o.shutdownFor, "c-shutdown-timeout", 3*time.Second, "c: presso's server.shutdown_timeout, after which the queued jobs are dropped")
	flag.BoolVar(&o.unbounded, "c-unbounded", true, "c: turn presso's queue bounds off (limits.max_queued, limits.max_queued_per_key)")
	flag.IntVar(&o.renders, "renders", 5000, "d: direct renders")
	flag.IntVar(&o.sampleEvery, "sample-every", 50, "d: renders between two memory samples")
	flag.IntVar(&o.memWarmup, "d-warmup", 200, "d: renders counted as warm-up")
	flag.IntVar(&o.memConc, "d-concurrency", runtime.NumCPU(), "d: concurrent requests (and presso's max_pages)")
	flag.IntVar(&o.pages, "pages", 1000, "e: pages of the large PDF")
	replot := flag.Bool("replot", false, "a: draw the chart of scenario a again from the -o file, without measuring")
	flag.Parse()
	if *replot {
		if err := replotA(o); err != nil {
			fatalf("%v", err)
		}
		return
	}
	for _, s := range strings.Split(levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fatalf("-levels %q: give positive integers separated by commas", levels)
		}
		o.levels = append(o.levels, n)
	}
	scenarios := map[string]func(*bench) error{"a": runA, "b": runB, "c": runC, "d": runD, "e": runE}
	var order []string
	if o.scenario == "all" {
		order = []string{"a", "b", "c", "d", "e"}
	} else {
		for _, name := range strings.Split(o.scenario, ",") {
			if scenarios[name] == nil {
				fatalf("-scenario %q: give a, b, c, d, e, a list such as a,b,e, or all; see the doc comment of bench/main.go", o.scenario)
			}
			order = append(order, name)
		}
	}

	pressoSets = append([]string{"renderer.chromium.bin=" + o.chromiumBin}, o.sets...)
	b, err := newBench(o)
	if err != nil {
		fatalf("%v", err)
	}
	becomeSubreaper()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		logf("%s: stopping presso and Chromium", sig)
		stopAll()
		b.cleanup()
		reapOrphans()
		os.Exit(1)
	}()
	var failed []string
	for _, name := range order {
		if err := b.run(name, scenarios[name]); err != nil {
			logf("scenario %s failed: %v", name, err)
			failed = append(failed, name)
		}
	}
	b.cleanup()
	reapOrphans()
	if left := alive(descendants(procTable(), os.Getpid())[1:]); len(left) > 0 {
		logf("processes still running below bench: %v", left)
		failed = append(failed, "cleanup")
	}
	if len(failed) > 0 {
		fatalf("failed: %v", failed)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}

// bench holds what every scenario shares.
type bench struct {
	opts   options
	root   string // module root
	tmp    string
	presso string // binary
	// commit is the commit presso was built from, empty for the work tree
	// or a given binary.
	commit  string
	invoice []byte
	results Results
}

func newBench(o options) (*bench, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return nil, errors.New("run bench from inside the presso module: go run ./bench")
	}
	b := &bench{opts: o, root: filepath.Dir(gomod)}
	if !filepath.IsAbs(b.opts.out) {
		b.opts.out = filepath.Join(b.root, b.opts.out)
	}
	if !filepath.IsAbs(b.opts.chartDir) {
		b.opts.chartDir = filepath.Join(b.root, b.opts.chartDir)
	}
	if b.invoice, err = os.ReadFile(filepath.Join(b.root, "cmd/presso/testdata/invoice.html")); err != nil {
		return nil, err
	}
	if data, err := os.ReadFile(b.opts.out); err == nil {
		if err := json.Unmarshal(data, &b.results); err != nil {
			return nil, fmt.Errorf("%s exists but does not decode (%v): move it away", b.opts.out, err)
		}
	}
	if b.tmp, err = os.MkdirTemp("", "bench-"); err != nil {
		return nil, err
	}
	b.presso = o.pressoBin
	if b.presso == "" {
		if o.source != "head" && o.source != "worktree" {
			return nil, fmt.Errorf("-source %q: use head or worktree", o.source)
		}
		if o.source == "head" {
			// The commit is resolved once, so that a commit landing
			// during the build cannot mix two versions.
			out, err := gitOutput(b.root, "rev-parse", "HEAD")
			if err != nil {
				return nil, fmt.Errorf("git rev-parse HEAD: %w", err)
			}
			b.commit = strings.TrimSpace(out)
		}
		logf("building ./cmd/presso from %s %s", o.source, b.commit)
		if b.presso, err = buildPresso(b.root, b.tmp, b.commit); err != nil {
			return nil, err
		}
	}
	b.results.Machine = describeMachine(o.chromiumBin)
	return b, nil
}

func (b *bench) cleanup() { _ = os.RemoveAll(b.tmp) }

// replotA draws the chart of scenario a from the results in o.out.
func replotA(o options) error {
	data, err := os.ReadFile(o.out)
	if err != nil {
		return err
	}
	var results Results
	if err := json.Unmarshal(data, &results); err != nil {
		return fmt.Errorf("%s does not decode: %w", o.out, err)
	}
	if results.A == nil {
		return fmt.Errorf("%s has no results of scenario a", o.out)
	}
	return chartA(results.A, filepath.Join(o.chartDir, results.A.Chart))
}

// run waits for a quiet machine, runs one scenario and saves the results.
func (b *bench) run(name string, fn func(*bench) error) error {
	info := b.waitForLowLoad()
	logf("scenario %s: load average %v", name, info.LoadBefore)
	currentRun = info
	err := fn(b)
	currentRun.Seconds = round1(time.Since(currentRun.StartedAt).Seconds())
	currentRun.LoadAfter = loadAverage()
	if err != nil {
		return err
	}
	return b.save()
}

// currentRun is the runInfo of the scenario under way; each scenario
// copies it into its result.
var currentRun *runInfo

func (b *bench) waitForLowLoad() *runInfo {
	info := &runInfo{Command: strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " ")}
	begin := time.Now()
	for {
		l := loadAverage()
		if l[0] < b.opts.maxLoad || b.opts.loadWait == 0 {
			break
		}
		if time.Since(begin) > b.opts.loadWait {
			info.LoadTooHigh = true
			logf("load average %v still above %.2f after %s: measuring anyway", l, b.opts.maxLoad, b.opts.loadWait)
			break
		}
		logf("load average %v above %.2f: waiting", l, b.opts.maxLoad)
		time.Sleep(15 * time.Second)
	}
	info.LoadWaited = round1(time.Since(begin).Seconds())
	info.Source = b.opts.source
	info.PressoCommit = b.commit
	if b.opts.pressoBin != "" {
		info.Source = "binary " + b.opts.pressoBin
	}
	info.LoadBefore = loadAverage()
	info.StartedAt = time.Now().UTC()
	if out, err := gitOutput(b.root, "rev-parse", "HEAD"); err == nil {
		info.HeadCommit = strings.TrimSpace(out)
	}
	if out, err := gitOutput(b.root, "status", "--porcelain"); err == nil && strings.TrimSpace(out) != "" {
		info.GitDirty = len(strings.Split(strings.TrimSpace(out), "\n"))
	}
	return info
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}

func (b *bench) save() error {
	if err := os.MkdirAll(filepath.Dir(b.opts.out), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(&b.results, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(b.opts.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s", b.opts.out)
	return nil
}

func describeMachine(chromiumBin string) *machineInfo {
	m := &machineInfo{CPUs: runtime.NumCPU(), Go: runtime.Version(), RecordedAt: time.Now().UTC().Format(time.RFC3339)}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				m.MemoryMiB = kb / 1024
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if out, err := exec.Command(chromiumBin, "--version").Output(); err == nil {
		m.Chromium = strings.TrimSpace(string(out))
	}
	return m
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

type resultE struct {
	Run       *runInfo `json:"run"`
	Method    string   `json:"method"`
	Pages     int      `json:"pages"`
	HTMLBytes int      `json:"htmlBytes"`
	Modes     []modeE  `json:"modes"`
	Chart     string   `json:"chart"`
}

type modeE struct {
	Mode     string  `json:"mode"`
	Seconds  float64 `json:"seconds"`
	PDFBytes int     `json:"pdfBytes"`
	// PDFPages is counted by pdfinfo when installed, else by counting
	// page objects.
	PDFPages int `json:"pdfPages"`
	// Idle is the memory of the started, idle presso before the request;
	// Peak the largest of the samples taken every 50 ms during it.
	Idle         memSample   `json:"idle"`
	PeakPresso   int64       `json:"peakPressoRssBytes"`
	PeakChromium int64       `json:"peakChromiumRssBytes"`
	PeakTotal    int64       `json:"peakTotalRssBytes"`
	PeakTotalMiB float64     `json:"peakTotalRssMiB"`
	After        memSample   `json:"after"`
	CPU          cpuShare    `json:"cpu"`
	Samples      []memSample `json:"samples"`
}

// bigHTML is a document of n pages, one section per page, each ending
// with a page break, the last one excepted.
func bigHTML(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><style>
body { font-family: sans-serif; margin: 0; }
section { page-break-after: always; break-after: page; padding: 20px; }
section:last-child { page-break-after: auto; break-after: auto; }
td { border: 1px solid #999; padding: 2px 6px; }
</style></head><body>
`)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "<section><h1>Page %d of %d</h1><p>Statement line items for account %06d.</p><table>", i, n, i*7919%1000000)
		for row := 1; row <= 10; row++ {
			fmt.Fprintf(&b, "<tr><td>Item %d.%d</td><td>%d</td><td>%d.%02d EUR</td></tr>", i, row, row*3, (i*row)%500, (i+row)%100)
		}
		b.WriteString("</table></section>\n")
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

func runE(b *bench) error {
	html := bigHTML(b.opts.pages)
	res := &resultE{Run: currentRun, Pages: b.opts.pages, HTMLBytes: len(html), Method: "presso with renderer.timeout=10m " +
		"(the default 30 s is too short for it on this machine) and defaults otherwise, restarted for each mode; one request; " +
		"RSS of presso and every process below it sampled every 50 ms; sync mode streams the PDF to a temporary file and storage, " +
		"direct mode holds it in memory"}
	b.results.E = res
	for _, mode := range []string{"sync", "direct"} {
		m, err := b.bigRender(mode, html)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		res.Modes = append(res.Modes, m)
		logf("e %s: %d pages, %.1f MB, %.1f s, peak RSS presso %.1f MiB + chromium %.1f MiB = %.1f MiB (idle %.1f MiB)",
			mode, m.PDFPages, float64(m.PDFBytes)/1e6, m.Seconds, mib(m.PeakPresso), mib(m.PeakChromium), mib(m.PeakTotal), mib(m.Idle.TotalRSS))
	}
	res.Chart = "e-memory.png"
	var panels []panel
	for _, m := range res.Modes {
		pr := series{name: "Presso RSS", color: colBlue}
		ch := series{name: "Chromium RSS (sum)", color: colOrange}
		tot := series{name: "Total RSS", color: colRed}
		for _, s := range m.Samples {
			pr.x, pr.y = append(pr.x, s.Seconds), append(pr.y, float64(s.PressoRSS)/(1<<20))
			ch.x, ch.y = append(ch.x, s.Seconds), append(ch.y, float64(s.ChromiumRSS)/(1<<20))
			tot.x, tot.y = append(tot.x, s.Seconds), append(tot.y, float64(s.TotalRSS)/(1<<20))
		}
		panels = append(panels, panel{title: fmt.Sprintf("%d-page PDF, %s mode", res.Pages, m.Mode), xLabel: "Seconds",
			yLabel: "MiB", series: []series{tot, ch, pr}})
	}
	return savePNG(filepath.Join(b.opts.chartDir, res.Chart), 620, 440, panels...)
}

func (b *bench) bigRender(mode string, html []byte) (modeE, error) {
	m := modeE{Mode: mode}
	p, err := startPresso(b.presso, "renderer.timeout=10m")
	if err != nil {
		return m, err
	}
	defer func() {
		if _, err := p.stop(); err != nil {
			logf("stopping presso: %v", err)
		}
	}()
	time.Sleep(2 * time.Second) // let Chromium settle
	m.Idle = sampleTree(p.pid(), false)
	client := httpClient(15 * time.Minute)
	body := renderBody(html, "")

	stop := make(chan struct{})
	var wg sync.WaitGroup
	begin := time.Now()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			s := sampleTree(p.pid(), false)
			s.Seconds = round2(time.Since(begin).Seconds())
			m.Samples = append(m.Samples, s)
			m.PeakPresso = max(m.PeakPresso, s.PressoRSS)
			m.PeakChromium = max(m.PeakChromium, s.ChromiumRSS)
			m.PeakTotal = max(m.PeakTotal, s.TotalRSS)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	cpuA := takeCPUSnapshot()
	pdf, answered, err := b.fetchBig(client, p.base, mode, body)
	m.Seconds = round2(answered.Sub(begin).Seconds())
	m.CPU = cpuBetween(cpuA, takeCPUSnapshot())
	close(stop)
	wg.Wait()
	if err != nil {
		return m, err
	}
	m.After = sampleTree(p.pid(), false)
	m.PeakTotalMiB = mib(m.PeakTotal)
	m.PDFBytes = len(pdf)
	m.PDFPages = countPages(b.tmp, pdf)
	if m.PDFPages != b.opts.pages {
		return m, fmt.Errorf("the PDF has %d pages, want %d", m.PDFPages, b.opts.pages)
	}
	return m, nil
}

// fetchBig renders body in mode and returns the PDF and the time the
// render's response arrived. In sync mode it then downloads the document.
func (b *bench) fetchBig(client *http.Client, base, mode string, body []byte) ([]byte, time.Time, error) {
	ctx := context.Background()
	data, err := post(ctx, client, base+"/v1/render/pdf/"+mode, body)
	answered := time.Now()
	if err != nil || mode == "direct" {
		return data, answered, err
	}
	var payload struct {
		Status string `json:"renderStatus"`
		URL    string `json:"documentUrl"`
	}
	if err := json.Unmarshal(data, &payload); err != nil {
		return nil, answered, err
	}
	if payload.Status != "SUCCESS" {
		return nil, answered, fmt.Errorf("sync render: %.300s", data)
	}
	resp, err := client.Get(payload.URL)
	if err != nil {
		return nil, answered, err
	}
	defer resp.Body.Close()
	pdf, err := io.ReadAll(resp.Body)
	return pdf, answered, err
}

var pageObject = regexp.MustCompile(`/Type\s*/Page[^s]`)

func countPages(tmp string, pdf []byte) int {
	path := filepath.Join(tmp, "big.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err == nil {
		defer os.Remove(path)
		if out, err := exec.Command("pdfinfo", path).Output(); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if rest, ok := strings.CutPrefix(line, "Pages:"); ok {
					if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
						return n
					}
				}
			}
		}
	}
	return len(pageObject.FindAll(pdf, -1))
}

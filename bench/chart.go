package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// Colours of the chart series.
var (
	colBlue   = color.RGBA{31, 100, 180, 255}
	colOrange = color.RGBA{230, 120, 20, 255}
	colGreen  = color.RGBA{40, 150, 60, 255}
	colRed    = color.RGBA{200, 40, 40, 255}
	colGrey   = color.RGBA{110, 110, 110, 255}
	colGrid   = color.RGBA{225, 225, 225, 255}
	colAxis   = color.RGBA{40, 40, 40, 255}
)

type series struct {
	name    string
	color   color.RGBA
	x, y    []float64
	markers bool
}

// panel is one line chart. With labels set, x values are indexes into
// labels, evenly spaced; otherwise the x axis is linear.
type panel struct {
	title, xLabel, yLabel string
	series                []series
	labels                []string
}

// savePNG draws the panels side by side, each w x h pixels, into path.
func savePNG(path string, w, h int, panels ...panel) error {
	img := image.NewRGBA(image.Rect(0, 0, w*len(panels), h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for i, p := range panels {
		drawPanel(img, image.Rect(i*w, 0, (i+1)*w, h), p)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	logf("wrote %s", path)
	return f.Close()
}

func drawPanel(img *image.RGBA, r image.Rectangle, p panel) {
	const scale = 2
	plot := image.Rect(r.Min.X+90, r.Min.Y+50, r.Max.X-25, r.Max.Y-60)

	// Ranges: y from 0, x over the data or the labels.
	ymax := 0.0
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, s := range p.series {
		for i := range s.y {
			ymax = max(ymax, s.y[i])
			xmin = min(xmin, s.x[i])
			xmax = max(xmax, s.x[i])
		}
	}
	if p.labels != nil {
		xmin, xmax = -0.4, float64(len(p.labels))-0.6
	}
	if xmax <= xmin {
		xmin, xmax = 0, 1
	}
	// The legend sits in the top left corner, so the y range leaves room
	// above the highest point for it.
	legendHeight := float64(len(p.series)*22 + 16)
	headroom := max(1.08, 1/(1-legendHeight/float64(plot.Dy())))
	ystep := niceStep(ymax * headroom / 5)
	ytop := math.Ceil(ymax*headroom/ystep) * ystep
	if ytop == 0 {
		ytop, ystep = 1, 0.2
	}
	px := func(x float64) int {
		return plot.Min.X + int(math.Round((x-xmin)/(xmax-xmin)*float64(plot.Dx())))
	}
	py := func(y float64) int {
		return plot.Max.Y - int(math.Round(y/ytop*float64(plot.Dy())))
	}

	// Grid and y ticks.
	for y := 0.0; y <= ytop+ystep/2; y += ystep {
		yy := py(y)
		hline(img, plot.Min.X, plot.Max.X, yy, colGrid)
		label := formatTick(y, ystep)
		drawText(img, plot.Min.X-8-textWidth(label, scale), yy-7, label, scale, colAxis)
	}
	// x ticks.
	if p.labels != nil {
		for i, l := range p.labels {
			xx := px(float64(i))
			vline(img, xx, plot.Min.Y, plot.Max.Y, colGrid)
			drawText(img, xx-textWidth(l, scale)/2, plot.Max.Y+8, l, scale, colAxis)
		}
	} else {
		xstep := niceStep((xmax - xmin) / 6)
		for x := math.Ceil(xmin/xstep) * xstep; x <= xmax+xstep/1e6; x += xstep {
			xx := px(x)
			vline(img, xx, plot.Min.Y, plot.Max.Y, colGrid)
			l := formatTick(x, xstep)
			drawText(img, xx-textWidth(l, scale)/2, plot.Max.Y+8, l, scale, colAxis)
		}
	}
	// Axes and labels.
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, colAxis)
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, colAxis)
	drawText(img, r.Min.X+(r.Dx()-textWidth(p.title, scale))/2, r.Min.Y+14, p.title, scale, colAxis)
	drawText(img, plot.Min.X+(plot.Dx()-textWidth(p.xLabel, scale))/2, plot.Max.Y+32, p.xLabel, scale, colAxis)
	drawTextUp(img, r.Min.X+8, plot.Min.Y+(plot.Dy()+textWidth(p.yLabel, scale))/2, p.yLabel, scale, colAxis)

	// Series.
	for _, s := range p.series {
		for i := range s.x {
			if i > 0 {
				line(img, px(s.x[i-1]), py(s.y[i-1]), px(s.x[i]), py(s.y[i]), s.color)
			}
			if s.markers {
				fill(img, image.Rect(px(s.x[i])-4, py(s.y[i])-4, px(s.x[i])+5, py(s.y[i])+5), s.color)
			}
		}
	}
	// Legend, top left inside the plot.
	lx, ly := plot.Min.X+12, plot.Min.Y+10
	width := 0
	for _, s := range p.series {
		width = max(width, textWidth(s.name, scale))
	}
	box := image.Rect(lx-6, ly-6, lx+34+width+8, ly+len(p.series)*22)
	fill(img, box, color.White)
	outline(img, box, colGrid)
	for i, s := range p.series {
		y := ly + i*22
		fill(img, image.Rect(lx, y+5, lx+26, y+9), s.color)
		drawText(img, lx+34, y, s.name, scale, colAxis)
	}
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func formatTick(v, step float64) string {
	switch {
	case step >= 1:
		return fmt.Sprintf("%.0f", v)
	case step >= 0.1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Over)
}

func outline(img *image.RGBA, r image.Rectangle, c color.Color) {
	hline(img, r.Min.X, r.Max.X, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X, r.Max.Y, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, c)
	vline(img, r.Max.X, r.Min.Y, r.Max.Y, c)
}

// line draws a segment two pixels thick (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0+1, y0, c)
		img.Set(x0, y0+1, c)
		img.Set(x0+1, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Series is one line: points (X[i], Y[i]), drawn in the order given.
// Points with a non-positive coordinate on a log axis, or a NaN, are left
// out.
type Series struct {
	Name string
	X, Y []float64
}

// Chart is one panel.
type Chart struct {
	Title string
	// XLabel is written under the x axis, YLabel above the y axis.
	XLabel, YLabel string
	// LogX makes the x axis log2, ticked at powers of two; LogY makes the y
	// axis log10, ticked at 1, 2 and 5 times powers of ten. Linear y axes
	// start at zero.
	LogX, LogY bool
	// XFormat and YFormat label the ticks; nil means FormatSI.
	XFormat, YFormat func(float64) string
	Series           []Series
}

// Palette are the colours of the series, in order (then reused).
var Palette = []color.RGBA{
	{31, 119, 180, 255},  // blue
	{255, 127, 14, 255},  // orange
	{44, 160, 44, 255},   // green
	{214, 39, 40, 255},   // red
	{148, 103, 189, 255}, // purple
	{140, 86, 75, 255},   // brown
	{227, 119, 194, 255}, // pink
	{127, 127, 127, 255}, // grey
}

var (
	white    = color.RGBA{255, 255, 255, 255}
	black    = color.RGBA{0, 0, 0, 255}
	gridGrey = color.RGBA{225, 225, 225, 255}
	textGrey = color.RGBA{60, 60, 60, 255}
)

// face is the font of every label: 7 pixels wide, 13 high.
var face = basicfont.Face7x13

const (
	charW      = 7
	lineH      = 13
	marginL    = 64
	marginR    = 16
	marginT    = 36
	marginB    = 42
	markerHalf = 3
)

// Draw renders the charts side by side in one w×h image.
func Draw(w, h int, charts ...Chart) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	if len(charts) == 0 {
		return img
	}
	pw := w / len(charts)
	for i, c := range charts {
		drawChart(img, image.Rect(i*pw, 0, (i+1)*pw, h), &c)
	}
	return img
}

// WritePNG encodes img as PNG.
func WritePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }

// axis maps data values to pixels along one direction.
type axis struct {
	log        bool
	base       float64 // 2 or 10 for log axes
	lo, hi     float64 // data range (for log axes: of the logarithms)
	p0, p1     int     // pixel positions of lo and hi
	ticks      []float64
	formatTick func(float64) string
}

func (a *axis) pos(v float64) int {
	x := v
	if a.log {
		x = math.Log(v) / math.Log(a.base)
	}
	f := (x - a.lo) / (a.hi - a.lo)
	return a.p0 + int(math.Round(f*float64(a.p1-a.p0)))
}

func (a *axis) usable(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!a.log || v > 0)
}

func drawChart(img *image.RGBA, r image.Rectangle, c *Chart) {
	plotArea := image.Rect(r.Min.X+marginL, r.Min.Y+marginT, r.Max.X-marginR, r.Max.Y-marginB)
	if plotArea.Dx() < 20 || plotArea.Dy() < 20 {
		return
	}
	xs, ys := valuesOf(c)
	xa := &axis{p0: plotArea.Min.X, p1: plotArea.Max.X - 1, formatTick: c.XFormat}
	ya := &axis{p0: plotArea.Max.Y - 1, p1: plotArea.Min.Y, formatTick: c.YFormat}
	scale(xa, xs, c.LogX, 2, false)
	scale(ya, ys, c.LogY, 10, true)

	// Grid and ticks.
	for _, t := range ya.ticks {
		y := ya.pos(t)
		hline(img, plotArea.Min.X, plotArea.Max.X-1, y, gridGrey)
		label := ya.formatTick(t)
		text(img, plotArea.Min.X-6-len(label)*charW, y+lineH/2-2, label, textGrey)
	}
	xLabelEvery := 1
	if n := len(xa.ticks); n > 0 {
		maxW := 0
		for _, t := range xa.ticks {
			maxW = max(maxW, len(xa.formatTick(t))*charW+8)
		}
		for n/xLabelEvery*maxW > plotArea.Dx() {
			xLabelEvery++
		}
	}
	for i, t := range xa.ticks {
		x := xa.pos(t)
		vline(img, x, plotArea.Min.Y, plotArea.Max.Y-1, gridGrey)
		vline(img, x, plotArea.Max.Y, plotArea.Max.Y+4, black)
		if i%xLabelEvery == 0 {
			label := xa.formatTick(t)
			text(img, x-len(label)*charW/2, plotArea.Max.Y+5+lineH-2, label, textGrey)
		}
	}
	// Axes.
	hline(img, plotArea.Min.X, plotArea.Max.X-1, plotArea.Max.Y-1, black)
	vline(img, plotArea.Min.X, plotArea.Min.Y, plotArea.Max.Y-1, black)
	// Titles.
	text(img, r.Min.X+(r.Dx()-len(c.Title)*charW)/2, r.Min.Y+lineH+2, c.Title, black)
	text(img, plotArea.Min.X-len(c.YLabel)*charW/2, plotArea.Min.Y-8, c.YLabel, textGrey)
	text(img, plotArea.Min.X+(plotArea.Dx()-len(c.XLabel)*charW)/2, r.Max.Y-6, c.XLabel, textGrey)

	// Lines and markers.
	for i, s := range c.Series {
		col := Palette[i%len(Palette)]
		havePrev := false
		var px, py int
		for j := range min(len(s.X), len(s.Y)) {
			if !xa.usable(s.X[j]) || !ya.usable(s.Y[j]) {
				havePrev = false
				continue
			}
			x, y := xa.pos(s.X[j]), ya.pos(s.Y[j])
			if havePrev {
				thickLine(img, px, py, x, y, col)
			}
			fillRect(img, image.Rect(x-markerHalf, y-markerHalf, x+markerHalf+1, y+markerHalf+1), col)
			px, py, havePrev = x, y, true
		}
	}
	// Legend, top left inside the plot area.
	lx, ly := plotArea.Min.X+8, plotArea.Min.Y+6
	legendW := 0
	for _, s := range c.Series {
		legendW = max(legendW, 28+len(s.Name)*charW)
	}
	if len(c.Series) > 0 {
		fillRect(img, image.Rect(lx-4, ly-3, lx+legendW+4, ly+len(c.Series)*(lineH+3)+1), white)
	}
	for i, s := range c.Series {
		col := Palette[i%len(Palette)]
		y := ly + i*(lineH+3) + lineH/2
		thickLine(img, lx, y, lx+20, y, col)
		text(img, lx+26, y+lineH/2-2, s.Name, black)
	}
}

func valuesOf(c *Chart) (xs, ys []float64) {
	for _, s := range c.Series {
		for j := range min(len(s.X), len(s.Y)) {
			xs = append(xs, s.X[j])
			ys = append(ys, s.Y[j])
		}
	}
	return xs, ys
}

// scale sets an axis's range and ticks to cover vals.
func scale(a *axis, vals []float64, log bool, base float64, fromZero bool) {
	a.log, a.base = log, base
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if a.usable(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if a.formatTick == nil {
		a.formatTick = FormatSI
	}
	if math.IsInf(lo, 1) { // nothing to show
		lo, hi = 1, base
	}
	if !log {
		if fromZero {
			lo = min(lo, 0)
		}
		if hi <= lo {
			hi = lo + 1
		}
		step := niceStep((hi - lo) / 5)
		a.lo = math.Floor(lo/step) * step
		a.hi = math.Ceil(hi*1.05/step) * step
		for t := a.lo; t <= a.hi+step/2; t += step {
			a.ticks = append(a.ticks, t)
		}
		return
	}
	logOf := func(v float64) float64 { return math.Log(v) / math.Log(base) }
	a.lo, a.hi = math.Floor(logOf(lo)), math.Ceil(logOf(hi))
	if a.hi <= a.lo {
		a.hi = a.lo + 1
	}
	for e := a.lo; e <= a.hi; e++ {
		p := math.Pow(base, e)
		a.ticks = append(a.ticks, p)
		if base == 10 && a.hi-a.lo <= 3 && e < a.hi {
			a.ticks = append(a.ticks, 2*p, 5*p)
		}
	}
}

// niceStep rounds a step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// FormatSI formats v compactly: 950, 1.5k, 12k, 3.2M.
func FormatSI(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 1e9:
		return trim(v/1e9) + "G"
	case abs >= 1e6:
		return trim(v/1e6) + "M"
	case abs >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// FormatMicros formats microseconds as a duration: 50us, 1.5ms, 2s.
func FormatMicros(us float64) string {
	switch {
	case us >= 1e6:
		return trim(us/1e6) + "s"
	case us >= 1e3:
		return trim(us/1e3) + "ms"
	}
	return trim(us) + "us"
}

func trim(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if math.Abs(v) < 1 {
		s = strconv.FormatFloat(v, 'g', 2, 64)
	}
	return s
}

func text(img *image.RGBA, x, y int, s string, col color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(col), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func hline(img *image.RGBA, x0, x1, y int, col color.RGBA) {
	for x := x0; x <= x1; x++ {
		img.SetRGBA(x, y, col)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, col color.RGBA) {
	for y := y0; y <= y1; y++ {
		img.SetRGBA(x, y, col)
	}
}

func fillRect(img *image.RGBA, r image.Rectangle, col color.RGBA) {
	draw.Draw(img, r.Intersect(img.Bounds()), image.NewUniform(col), image.Point{}, draw.Src)
}

// thickLine draws a 2-pixel line (Bresenham, each point a 2x2 square).
func thickLine(img *image.RGBA, x0, y0, x1, y1 int, col color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fillRect(img, image.Rect(x0, y0, x0+2, y0+2), col)
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

// String describes a chart, for test failures.
func (c Chart) String() string { return fmt.Sprintf("chart %q (%d series)", c.Title, len(c.Series)) }

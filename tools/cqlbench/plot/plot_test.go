package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func countColor(img image.Image, want color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B {
				n++
			}
		}
	}
	return n
}

func TestDrawEncodesAChartWithItsLines(t *testing.T) {
	conc := []float64{1, 16, 256, 1024}
	charts := []Chart{
		{Title: "throughput", XLabel: "concurrency", YLabel: "ops/s", LogX: true, Series: []Series{
			{Name: "a", X: conc, Y: []float64{1e3, 1e4, 1e5, 2e5}},
			{Name: "b", X: conc, Y: []float64{5e2, 5e3, 4e4, 6e4}},
		}},
		{Title: "p99", YLabel: "p99", LogX: true, LogY: true, YFormat: FormatMicros, Series: []Series{
			{Name: "a", X: conc, Y: []float64{50, 80, 900, 4000}},
			{Name: "b", X: conc, Y: []float64{0, 200, 2000, 9000}}, // 0 cannot be shown on a log axis
		}},
	}
	var buf bytes.Buffer
	if err := WritePNG(&buf, Draw(800, 300, charts...)); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(800, 300) {
		t.Fatalf("size %v, want 800x300", got)
	}
	for i, name := range []string{"a", "b"} {
		// Two panels of three segments each, plus markers and the legend:
		// hundreds of pixels of each series' colour.
		if n := countColor(img, Palette[i]); n < 300 {
			t.Errorf("series %s: %d pixels of its colour, want lines", name, n)
		}
	}
	if n := countColor(img, black); n < 500 {
		t.Errorf("%d black pixels: no axes or text?", n)
	}
}

func TestDrawWithNothingToShow(t *testing.T) {
	img := Draw(300, 200, Chart{Title: "empty", LogX: true, LogY: true})
	if countColor(img, black) == 0 {
		t.Fatal("an empty chart should still have its axes")
	}
	if Draw(10, 10, Chart{}).Bounds().Dx() != 10 {
		t.Fatal("a tiny image should still be made")
	}
}

func TestScaleTicks(t *testing.T) {
	var a axis
	scale(&a, []float64{1, 16, 256, 1024}, true, 2, false)
	if len(a.ticks) != 11 || a.ticks[0] != 1 || a.ticks[10] != 1024 {
		t.Fatalf("log2 ticks %v, want 1, 2, ..., 1024", a.ticks)
	}
	var l axis
	scale(&l, []float64{120, 870}, false, 10, true)
	if l.lo != 0 || l.hi < 870 || len(l.ticks) < 3 || len(l.ticks) > 12 {
		t.Fatalf("linear axis %v..%v ticks %v", l.lo, l.hi, l.ticks)
	}
}

func TestFormats(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 950: "950", 1500: "1.5k", 12000: "12k", 3.2e6: "3.2M", 0.25: "0.25"} {
		if got := FormatSI(in); got != want {
			t.Errorf("FormatSI(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{50: "50us", 1500: "1.5ms", 2e6: "2s"} {
		if got := FormatMicros(in); got != want {
			t.Errorf("FormatMicros(%v) = %q, want %q", in, got, want)
		}
	}
}

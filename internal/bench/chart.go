package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// minChartMS is the floor of the lateness axis (log scale has no zero).
const minChartMS = 0.1

var (
	colP50    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colP99    = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	colMax    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colMark   = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	colTarget = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	palette   = []color.Color{colP50, colP99, colTarget, colMax, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}}
)

// WriteChart draws the window as a PNG: lateness per scheduled second
// (p50, p99, max, on a log scale, with the targets), fires per second
// (expected and received), and each process's CPU, with the kill and
// restart marked.
func WriteChart(rep *Report, path string) error {
	panels := []*plot.Plot{latenessPlot(rep), ratePlot(rep), cpuPlot(rep)}
	const w, h = 30 * vg.Centimeter, 27 * vg.Centimeter
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Millimeter, PadY: 4 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	canvases := plot.Align(grid, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[i][0])
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write chart: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}

func latenessPlot(rep *Report) *plot.Plot {
	p := plot.New()
	s := rep.Settings
	p.Title.Text = fmt.Sprintf("fire lateness per scheduled second: %d jobs, %.0f fires/s expected, %d servers",
		s.Jobs, s.ExpectedPerSec, s.Servers)
	p.Y.Label.Text = "lateness (ms, log)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true

	var p50, p99, mx plotter.XYs
	hi := s.P99TargetMS
	for _, pt := range rep.Series {
		if pt.Received == 0 {
			continue
		}
		x := float64(pt.T)
		p50 = append(p50, plotter.XY{X: x, Y: math.Max(pt.P50MS, minChartMS)})
		p99 = append(p99, plotter.XY{X: x, Y: math.Max(pt.P99MS, minChartMS)})
		mx = append(mx, plotter.XY{X: x, Y: math.Max(pt.MaxMS, minChartMS)})
		hi = math.Max(hi, pt.MaxMS)
	}
	addLine(p, "max", mx, colMax, false)
	addLine(p, "p99", p99, colP99, false)
	addLine(p, "p50", p50, colP50, false)
	end := float64(len(rep.Series))
	addLine(p, fmt.Sprintf("p99 target %.0f ms", s.P99TargetMS), plotter.XYs{{X: 0, Y: s.P99TargetMS}, {X: end, Y: s.P99TargetMS}}, colTarget, true)
	if !s.Herd {
		addLine(p, fmt.Sprintf("p50 target %.0f ms", s.P50TargetMS), plotter.XYs{{X: 0, Y: s.P50TargetMS}, {X: end, Y: s.P50TargetMS}}, colTarget, true)
	}
	p.Y.Min, p.Y.Max = minChartMS, hi*2
	p.X.Min, p.X.Max = 0, end
	addMarks(p, rep.Marks, minChartMS, hi*2, hi/2)
	return p
}

func ratePlot(rep *Report) *plot.Plot {
	p := plot.New()
	p.Y.Label.Text = "fires per second"
	p.Legend.Top = true
	var want, got plotter.XYs
	hi := 1.0
	for _, pt := range rep.Series {
		x := float64(pt.T)
		want = append(want, plotter.XY{X: x, Y: float64(pt.Expected)})
		got = append(got, plotter.XY{X: x, Y: float64(pt.Receipts)})
		hi = math.Max(hi, math.Max(float64(pt.Expected), float64(pt.Receipts)))
	}
	addLine(p, "expected (by scheduled second)", want, colTarget, true)
	addLine(p, "received (by receipt second)", got, colP50, false)
	p.Y.Min, p.Y.Max = 0, hi*1.15
	p.X.Min, p.X.Max = 0, float64(len(rep.Series))
	addMarks(p, rep.Marks, 0, hi*1.15, hi*0.95)
	return p
}

func cpuPlot(rep *Report) *plot.Plot {
	p := plot.New()
	p.X.Label.Text = "seconds from the window start"
	p.Y.Label.Text = "CPU (cores)"
	p.Legend.Top = true
	names := make([]string, 0, len(rep.Servers)+1)
	for _, s := range rep.Servers {
		names = append(names, s.ID)
	}
	names = append(names, selfID)
	hi := 1.0
	for k, name := range names {
		var xy plotter.XYs
		for _, pt := range rep.Series {
			if k < len(pt.CPU) {
				xy = append(xy, plotter.XY{X: float64(pt.T), Y: pt.CPU[k]})
				hi = math.Max(hi, pt.CPU[k])
			}
		}
		addLine(p, name, xy, palette[k%len(palette)], false)
	}
	p.Y.Min, p.Y.Max = 0, hi*1.15
	p.X.Min, p.X.Max = 0, float64(len(rep.Series))
	addMarks(p, rep.Marks, 0, hi*1.15, hi*0.95)
	return p
}

func addLine(p *plot.Plot, name string, xy plotter.XYs, c color.Color, dashed bool) {
	if len(xy) == 0 {
		return
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return // NaN or Inf in the data: leave the line out
	}
	l.Color = c
	l.Width = vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
}

// addMarks draws each event as a vertical line labelled at its top; every
// other label sits lower, at low2, so that close events stay readable.
func addMarks(p *plot.Plot, marks []Mark, lo, hi, low2 float64) {
	for i, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.At, Y: lo}, {X: m.At, Y: hi}})
		if err != nil {
			continue
		}
		l.Color = colMark
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		y := hi
		if i%2 == 1 {
			y = low2
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: m.At, Y: y}}, Labels: []string{" " + m.Label}})
		if err == nil {
			p.Add(labels)
		}
	}
}

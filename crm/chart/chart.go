// Package chart draws the small bar charts of an association's reports
// (a campaign's funnel, a year of gifts, how many donors came back) as
// SVG or PNG, for a board meeting or a general assembly. It knows bars,
// colours and labels, nothing of what they count.
//
// Text is measured and, in PNG, drawn with the Go fonts, which have the
// accents of French; an SVG names them first and falls back on the
// viewer's sans-serif, whose widths are close enough for the margins
// left.
package chart

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"strconv"
)

// Chart is one bar chart: horizontal bars with their labels on the left
// (a funnel, a comparison), or, with Columns, vertical bars rising from
// an axis with their labels under them (a series in time).
type Chart struct {
	Title   string
	Bars    []Bar
	Columns bool
	// Legend names the colours, under the chart.
	Legend []Key
	// Format writes a value: at the end of a horizontal bar, and on the
	// axis of columns. Nil writes the number as it is.
	Format func(int64) string
}

// Bar is one bar, made of parts stacked in order: from the left of a
// horizontal bar, from the bottom of a column.
type Bar struct {
	Label string
	// Caption is a second line under a column's label, such as the year
	// under January. Horizontal bars have none.
	Caption string
	Parts   []Part
	// Note is written at the end of a horizontal bar; empty means its
	// total, formatted. Columns have none: their axis tells.
	Note string
}

// Part is one stacked piece of a bar. A negative value counts as 0.
type Part struct {
	Value int64
	Color color.RGBA
}

// Key names one colour of a chart, in its legend.
type Key struct {
	Label string
	Color color.RGBA
}

// ErrFormat is returned for a format other than "svg" or "png".
var ErrFormat = errors.New("chart: want the format svg or png")

// Write draws the charts one under the other on one picture, in format
// "svg" or "png", and returns the first write error, or an error
// wrapping ErrFormat.
func Write(w io.Writer, format string, charts ...*Chart) error {
	if format != "svg" && format != "png" {
		return fmt.Errorf("%w, not %q", ErrFormat, format)
	}
	slack := 1.0
	if format == "svg" {
		slack = 1.15
	}
	fs, err := newFonts(slack)
	if err != nil {
		return err
	}
	width := 0
	for _, c := range charts {
		width = max(width, c.naturalWidth(fs))
	}
	height := 0
	for _, c := range charts {
		height += c.height(fs, width)
	}
	if format == "svg" {
		cv := newSVG(w, width, height)
		drawAll(cv, fs, width, charts)
		return cv.close()
	}
	cv := newPNG(width, height, fs)
	drawAll(cv, fs, width, charts)
	return cv.encode(w)
}

func drawAll(cv canvas, fs *fonts, width int, charts []*Chart) {
	y := 0
	for _, c := range charts {
		c.draw(cv, fs, width, y)
		y += c.height(fs, width)
	}
}

// Colours of the text and of the axis.
var (
	ink  = color.RGBA{0x1d, 0x1d, 0x1b, 0xff}
	grey = color.RGBA{0x5f, 0x5f, 0x5a, 0xff}
	grid = color.RGBA{0xe4, 0xe4, 0xe0, 0xff}
)

// Sizes, in pixels.
const (
	minWidth     = 560
	margin       = 10
	titleHeight  = 40
	textSize     = 13
	smallSize    = 11
	titleSize    = 16
	barHeight    = 22
	barGap       = 8
	bottom       = 16
	plotHeight   = 220
	legendRow    = 20
	legendSwatch = 11
)

// anchor is where a text stands from its x.
type anchor int

const (
	start anchor = iota
	middle
	end
)

// style is how a text is set.
type style struct {
	size   float64
	bold   bool
	anchor anchor
	color  color.RGBA
}

// canvas is what the charts draw on: an SVG document or a PNG image.
type canvas interface {
	rect(r image.Rectangle, c color.RGBA)
	// text writes s with its baseline at y.
	text(x, y int, s string, st style)
}

func (c *Chart) format(v int64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return strconv.FormatInt(v, 10)
}

func total(b Bar) int64 {
	var t int64
	for _, p := range b.Parts {
		t += max(p.Value, 0)
	}
	return t
}

func (c *Chart) top() int64 {
	var top int64
	for _, b := range c.Bars {
		top = max(top, total(b))
	}
	return top
}

func (c *Chart) note(b Bar) string {
	if b.Note != "" {
		return b.Note
	}
	return c.format(total(b))
}

// naturalWidth is the width the chart needs: 560 pixels for horizontal
// bars, or what its columns and their labels take.
func (c *Chart) naturalWidth(fs *fonts) int {
	w := max(minWidth, fs.width(c.Title, titleSize, true)+2*margin)
	if !c.Columns {
		return max(w, c.left(fs)+c.right(fs)+100)
	}
	return max(w, c.axisWidth(fs)+len(c.Bars)*c.slot(fs)+2*margin)
}

func (c *Chart) height(fs *fonts, width int) int {
	h := titleHeight + c.legendHeight(fs, width) + bottom
	if c.Columns {
		return h + plotHeight + 2*legendRow
	}
	return h + len(c.Bars)*(barHeight+barGap)
}

func (c *Chart) draw(cv canvas, fs *fonts, width, y0 int) {
	cv.text(margin, y0+24, c.Title, style{size: titleSize, bold: true, color: ink})
	var y int
	if c.Columns {
		y = c.drawColumns(cv, fs, width, y0+titleHeight)
	} else {
		y = c.drawBars(cv, fs, width, y0+titleHeight)
	}
	c.drawLegend(cv, fs, width, y)
}

// left is where horizontal bars start, after their labels; right the
// room after the longest bar, for its note.
func (c *Chart) left(fs *fonts) int {
	w := 0
	for _, b := range c.Bars {
		w = max(w, fs.width(b.Label, textSize, false))
	}
	return max(110, w+margin+8)
}

func (c *Chart) right(fs *fonts) int {
	w := 0
	for _, b := range c.Bars {
		w = max(w, fs.width(c.note(b), textSize, false))
	}
	return max(60, w+18)
}

func (c *Chart) drawBars(cv canvas, fs *fonts, width, y0 int) int {
	left, right := c.left(fs), c.right(fs)
	room := width - left - right
	top := c.top()
	scale := func(v int64) int {
		if top == 0 {
			return 0
		}
		return int(v * int64(room) / top)
	}
	y := y0
	for _, b := range c.Bars {
		cv.text(left-8, y+15, b.Label, style{size: textSize, anchor: end, color: ink})
		x, sum := left, int64(0)
		for _, p := range b.Parts {
			// Each part ends where the running total ends, so rounding
			// never makes a stack longer than its total.
			sum += max(p.Value, 0)
			next := left + scale(sum)
			if next > x {
				cv.rect(image.Rect(x, y, next, y+barHeight), p.Color)
			}
			x = next
		}
		cv.text(x+6, y+15, c.note(b), style{size: textSize, color: ink})
		y += barHeight + barGap
	}
	return y
}

// slot is the width given to one column and its label.
func (c *Chart) slot(fs *fonts) int {
	w := 0
	for _, b := range c.Bars {
		w = max(w, fs.width(b.Label, smallSize, false), fs.width(b.Caption, smallSize, false))
	}
	return max(24, w+8)
}

// ticks returns the values marked on the axis of columns: from 0 to the
// first round value (1, 2 or 5 times a power of ten, steps) at or above
// the tallest column.
func (c *Chart) ticks() []int64 {
	top := c.top()
	step := int64(1)
	for step*4 < top {
		switch s := step; {
		case s*2*4 >= top:
			step = s * 2
		case s*5*4 >= top:
			step = s * 5
		default:
			step = s * 10
		}
	}
	ticks := []int64{0}
	for v := step; ; v += step {
		ticks = append(ticks, v)
		if v >= top {
			return ticks
		}
	}
}

func (c *Chart) axisWidth(fs *fonts) int {
	w := 0
	for _, t := range c.ticks() {
		w = max(w, fs.width(c.format(t), smallSize, false))
	}
	return max(50, w+margin+8)
}

func (c *Chart) drawColumns(cv canvas, fs *fonts, width, y0 int) int {
	ticks := c.ticks()
	axisTop := ticks[len(ticks)-1]
	left, slot := c.axisWidth(fs), c.slot(fs)
	base := y0 + plotHeight
	scale := func(v int64) int { return int(v * plotHeight / axisTop) }
	for _, t := range ticks {
		y := base - scale(t)
		cv.rect(image.Rect(left, y, left+len(c.Bars)*slot, y+1), grid)
		cv.text(left-6, y+4, c.format(t), style{size: smallSize, anchor: end, color: grey})
	}
	barW := max(slot*7/10, 4)
	for i, b := range c.Bars {
		x := left + i*slot + (slot-barW)/2
		y, sum := base, int64(0)
		for _, p := range b.Parts {
			sum += max(p.Value, 0)
			next := base - scale(sum)
			if next < y {
				cv.rect(image.Rect(x, next, x+barW, y), p.Color)
			}
			y = next
		}
		mid := left + i*slot + slot/2
		cv.text(mid, base+16, b.Label, style{size: smallSize, anchor: middle, color: ink})
		cv.text(mid, base+30, b.Caption, style{size: smallSize, anchor: middle, color: grey})
	}
	cv.rect(image.Rect(left, base, left+len(c.Bars)*slot, base+1), grey)
	return base + 2*legendRow
}

// legendLayout places the keys in rows that fit the width.
func (c *Chart) legendLayout(fs *fonts, width int) (xs []int, rows []int) {
	x, row := margin, 0
	for _, k := range c.Legend {
		w := legendSwatch + 6 + fs.width(k.Label, smallSize, false) + 18
		if x > margin && x+w > width-margin {
			x, row = margin, row+1
		}
		xs, rows = append(xs, x), append(rows, row)
		x += w
	}
	return xs, rows
}

func (c *Chart) legendHeight(fs *fonts, width int) int {
	if len(c.Legend) == 0 {
		return 0
	}
	_, rows := c.legendLayout(fs, width)
	return (rows[len(rows)-1] + 1) * legendRow
}

func (c *Chart) drawLegend(cv canvas, fs *fonts, width, y0 int) {
	xs, rows := c.legendLayout(fs, width)
	for i, k := range c.Legend {
		y := y0 + rows[i]*legendRow
		cv.rect(image.Rect(xs[i], y+3, xs[i]+legendSwatch, y+3+legendSwatch), k.Color)
		cv.text(xs[i]+legendSwatch+6, y+13, k.Label, style{size: smallSize, color: ink})
	}
}

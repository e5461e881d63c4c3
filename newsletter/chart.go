package newsletter

import (
	"fmt"
	"html"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/assocrm/assocrm/crm"
)

// chartBar is one bar of a campaign's funnel.
type chartBar struct {
	label string
	value int
	color color.RGBA
}

func funnel(st *Stats) []chartBar {
	main := color.RGBA{0x9c, 0x2a, 0x00, 0xff}
	warn := color.RGBA{0x5f, 0x5f, 0x5a, 0xff}
	return []chartBar{
		{"recipients", st.Recipients, main},
		{"sent", st.Sent, main},
		{"delivered", st.Delivered, main},
		{"failed", st.Failed, warn},
		{"bounced", st.Bounced, warn},
		{"complained", st.Complained, warn},
		{"unsubscribed", st.Unsubscribed, warn},
	}
}

// WriteChart draws a campaign's funnel (recipients, sent, delivered, and
// what went wrong: failed, bounced, complained, unsubscribed) as a small
// picture for an association's board, in format "svg" or "png". It
// returns an error wrapping crm.ErrInvalid for another format.
func WriteChart(w io.Writer, st *Stats, format string) error {
	bars := funnel(st)
	title := "Campaign " + st.Campaign.Name
	switch format {
	case "svg":
		return writeSVG(w, title, bars)
	case "png":
		return writePNG(w, title, bars)
	}
	return &crm.ValidationError{Field: "format", Value: format, Reason: "want svg or png"}
}

const (
	chartWidth  = 560
	chartLeft   = 110 // room for the labels
	chartRight  = 60  // room for the numbers
	chartBarH   = 22
	chartGap    = 8
	chartTop    = 40
	chartBottom = 16
)

func chartHeight(n int) int { return chartTop + n*(chartBarH+chartGap) + chartBottom }

// barWidth scales a value to the room the bars have.
func barWidth(v, top int) int {
	if top == 0 {
		return 0
	}
	return v * (chartWidth - chartLeft - chartRight) / top
}

func writeSVG(w io.Writer, title string, bars []chartBar) error {
	top := 0
	for _, b := range bars {
		top = max(top, b.value)
	}
	h := chartHeight(len(bars))
	p := &errWriter{w: w}
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n",
		chartWidth, h, chartWidth, h)
	p.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	p.printf(`<text x="10" y="24" font-size="16" font-weight="bold" fill="#1d1d1b">%s</text>`+"\n", html.EscapeString(title))
	for i, b := range bars {
		y := chartTop + i*(chartBarH+chartGap)
		p.printf(`<text x="%d" y="%d" text-anchor="end" fill="#1d1d1b">%s</text>`+"\n", chartLeft-8, y+15, b.label)
		p.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="#%02x%02x%02x"/>`+"\n", chartLeft, y,
			barWidth(b.value, top), chartBarH, b.color.R, b.color.G, b.color.B)
		p.printf(`<text x="%d" y="%d" fill="#1d1d1b">%d</text>`+"\n", chartLeft+barWidth(b.value, top)+6, y+15, b.value)
	}
	p.printf("</svg>\n")
	return p.err
}

func writePNG(w io.Writer, title string, bars []chartBar) error {
	top := 0
	for _, b := range bars {
		top = max(top, b.value)
	}
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, chartHeight(len(bars))))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	ink := image.NewUniform(color.RGBA{0x1d, 0x1d, 0x1b, 0xff})
	text := func(x, y int, s string) {
		d := font.Drawer{Dst: img, Src: ink, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	text(10, 24, title)
	for i, b := range bars {
		y := chartTop + i*(chartBarH+chartGap)
		text(chartLeft-8-7*len(b.label), y+15, b.label)
		draw.Draw(img, image.Rect(chartLeft, y, chartLeft+barWidth(b.value, top), y+chartBarH),
			image.NewUniform(b.color), image.Point{}, draw.Src)
		text(chartLeft+barWidth(b.value, top)+6, y+15, strconv.Itoa(b.value))
	}
	return png.Encode(w, img)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (p *errWriter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

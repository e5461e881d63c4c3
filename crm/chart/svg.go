package chart

import (
	"fmt"
	"html"
	"image"
	"image/color"
	"io"
)

// svgCanvas writes the drawing as SVG elements, keeping the first write
// error.
type svgCanvas struct {
	w   io.Writer
	err error
}

func newSVG(w io.Writer, width, height int) *svgCanvas {
	c := &svgCanvas{w: w}
	c.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" `+
		`font-family="Go, 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif" font-size="%d">`+"\n",
		width, height, width, height, textSize)
	c.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	return c
}

func (c *svgCanvas) printf(format string, args ...any) {
	if c.err == nil {
		_, c.err = fmt.Fprintf(c.w, format, args...)
	}
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func (c *svgCanvas) rect(r image.Rectangle, col color.RGBA) {
	c.printf(`<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", r.Min.X, r.Min.Y, r.Dx(), r.Dy(), hex(col))
}

func (c *svgCanvas) text(x, y int, s string, st style) {
	if s == "" {
		return
	}
	attrs := ""
	switch st.anchor {
	case middle:
		attrs += ` text-anchor="middle"`
	case end:
		attrs += ` text-anchor="end"`
	}
	if st.bold {
		attrs += ` font-weight="bold"`
	}
	if st.size != textSize {
		attrs += fmt.Sprintf(` font-size="%g"`, st.size)
	}
	// Labels come from the data (a campaign's or a fund's name): escaped.
	c.printf(`<text x="%d" y="%d"%s fill="%s">%s</text>`+"\n", x, y, attrs, hex(st.color), html.EscapeString(s))
}

func (c *svgCanvas) close() error {
	c.printf("</svg>\n")
	return c.err
}

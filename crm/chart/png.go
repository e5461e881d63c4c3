package chart

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// pngCanvas draws on an image, encoded as PNG at the end.
type pngCanvas struct {
	img *image.RGBA
	fs  *fonts
}

func newPNG(width, height int, fs *fonts) *pngCanvas {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return &pngCanvas{img: img, fs: fs}
}

func (c *pngCanvas) rect(r image.Rectangle, col color.RGBA) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Src)
}

func (c *pngCanvas) text(x, y int, s string, st style) {
	if s == "" {
		return
	}
	switch w := font.MeasureString(c.fs.face(st.size, st.bold), s).Ceil(); st.anchor {
	case middle:
		x -= w / 2
	case end:
		x -= w
	}
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(st.color), Face: c.fs.face(st.size, st.bold), Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func (c *pngCanvas) encode(w io.Writer) error { return png.Encode(w, c.img) }

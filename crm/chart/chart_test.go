package chart_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/assocrm/assocrm/crm/chart"
)

var (
	red  = color.RGBA{0xc0, 0x10, 0x10, 0xff}
	blue = color.RGBA{0x10, 0x10, 0xc0, 0xff}
)

// A well-formed SVG: every text from the data escaped, the bars' totals
// written at their ends.
func TestSVG(t *testing.T) {
	c := &chart.Chart{Title: `Campagne <script>alert("x")</script> & co`, Bars: []chart.Bar{
		{Label: "reçus", Parts: []chart.Part{{Value: 4, Color: red}}},
		{Label: "a<b", Parts: []chart.Part{{Value: 1, Color: red}, {Value: 2, Color: blue}}},
	}, Legend: []chart.Key{{Label: "rouge & bleu", Color: red}}}
	var b bytes.Buffer
	if err := chart.Write(&b, "svg", c); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{">Campagne &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co<", ">reçus<", ">a&lt;b<",
		">4<", ">3<", ">rouge &amp; bleu<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<script") {
		t.Error("a label's markup went through")
	}
}

// rects returns the rectangles of an SVG drawn in colour c.
func rects(svg string, c color.RGBA) []image.Rectangle {
	re := regexp.MustCompile(`<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#([0-9a-f]{6})"/>`)
	var out []image.Rectangle
	hex := fmt.Sprintf("%02x%02x%02x", c.R, c.G, c.B)
	for _, m := range re.FindAllStringSubmatch(svg, -1) {
		if m[5] != hex {
			continue
		}
		n := make([]int, 4)
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		out = append(out, image.Rect(n[0], n[1], n[0]+n[2], n[1]+n[3]))
	}
	return out
}

// Stacked parts follow each other, in proportion to their values, and
// the longest bar sets the scale.
func TestStackedBars(t *testing.T) {
	c := &chart.Chart{Title: "t", Bars: []chart.Bar{
		{Label: "a", Parts: []chart.Part{{Value: 100, Color: red}, {Value: 300, Color: blue}}},
		{Label: "b", Parts: []chart.Part{{Value: 200, Color: red}, {Value: -5, Color: blue}}},
	}}
	var b bytes.Buffer
	if err := chart.Write(&b, "svg", c); err != nil {
		t.Fatal(err)
	}
	r, bl := rects(b.String(), red), rects(b.String(), blue)
	if len(r) != 2 || len(bl) != 1 {
		t.Fatalf("red %v, blue %v", r, bl)
	}
	if bl[0].Min.X != r[0].Max.X || bl[0].Min.Y != r[0].Min.Y {
		t.Errorf("the second part does not follow the first: %v then %v", r[0], bl[0])
	}
	if w := bl[0].Dx(); w < 3*r[0].Dx()-2 || w > 3*r[0].Dx()+2 {
		t.Errorf("300 drawn %d wide, 100 drawn %d", w, r[0].Dx())
	}
	if w := r[1].Dx(); w < 2*r[0].Dx()-2 || w > 2*r[0].Dx()+2 {
		t.Errorf("200 drawn %d wide, 100 drawn %d", w, r[0].Dx())
	}
}

// Columns rise from one baseline, their heights in proportion, under an
// axis marked at round values up to the tallest.
func TestColumns(t *testing.T) {
	c := &chart.Chart{Title: "Dons", Columns: true, Format: func(v int64) string { return strconv.FormatInt(v, 10) + " €" }}
	for i, v := range []int64{0, 150, 523, 300} {
		c.Bars = append(c.Bars, chart.Bar{Label: "m" + strconv.Itoa(i), Parts: []chart.Part{{Value: v, Color: red}}})
	}
	c.Bars[0].Caption = "2026"
	var b bytes.Buffer
	if err := chart.Write(&b, "svg", c); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	for _, tick := range []string{">0 €<", ">200 €<", ">400 €<", ">600 €<", ">2026<", ">m3<"} {
		if !strings.Contains(svg, tick) {
			t.Errorf("the SVG lacks %q", tick)
		}
	}
	if strings.Contains(svg, ">800 €<") {
		t.Error("the axis goes past the first round value above the tallest column")
	}
	cols := rects(svg, red)
	if len(cols) != 3 { // a zero column draws nothing
		t.Fatalf("columns %v", cols)
	}
	base := cols[0].Max.Y
	for _, r := range cols {
		if r.Max.Y != base {
			t.Errorf("column %v does not stand on the baseline %d", r, base)
		}
	}
	if h := cols[1].Dy(); h < cols[0].Dy()*523/150-2 || h > cols[0].Dy()*523/150+2 {
		t.Errorf("523 drawn %d high, 150 drawn %d", h, cols[0].Dy())
	}
}

// A PNG of the right size, its bars painted in their colours; two charts
// stack on one picture.
func TestPNG(t *testing.T) {
	bars := &chart.Chart{Title: "Donateurs été 2026", Bars: []chart.Bar{
		{Label: "fidèles", Parts: []chart.Part{{Value: 1, Color: red}, {Value: 3, Color: blue}}},
	}}
	var one, two bytes.Buffer
	if err := chart.Write(&one, "png", bars); err != nil {
		t.Fatal(err)
	}
	if err := chart.Write(&two, "png", bars, bars); err != nil {
		t.Fatal(err)
	}
	img1, err := png.Decode(&one)
	if err != nil {
		t.Fatal(err)
	}
	img2, err := png.Decode(&two)
	if err != nil {
		t.Fatal(err)
	}
	if img1.Bounds().Dx() != 560 || img2.Bounds().Dx() != 560 || img2.Bounds().Dy() != 2*img1.Bounds().Dy() {
		t.Errorf("sizes %v and %v", img1.Bounds(), img2.Bounds())
	}
	count := map[color.RGBA]int{}
	for y := range img1.Bounds().Dy() {
		for x := range img1.Bounds().Dx() {
			r, g, b, a := img1.At(x, y).RGBA()
			count[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}]++
		}
	}
	if count[red] == 0 || count[blue] < 3*count[red]-3*22 || count[blue] > 3*count[red]+3*22 {
		t.Errorf("%d red and %d blue pixels, want three times as many blue", count[red], count[blue])
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := chart.Write(io.Discard, "gif", &chart.Chart{}); !errors.Is(err, chart.ErrFormat) {
		t.Errorf("gif: %v", err)
	}
}

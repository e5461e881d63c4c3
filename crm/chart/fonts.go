package chart

import (
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
)

// parsedFonts are the Go regular and bold fonts, parsed once.
var parsedFonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	var out [2]*opentype.Font
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return out, err
		}
		out[i] = f
	}
	return out, nil
})

// fonts holds the faces of one drawing: a face is not safe for
// concurrent use, so every Write makes its own.
type fonts struct {
	parsed [2]*opentype.Font
	faces  map[faceKey]font.Face
	// slack widens measured texts: an SVG viewer sets them in its own
	// sans-serif (DejaVu Sans is some 12% wider than Go), so the layout
	// leaves them room.
	slack float64
}

type faceKey struct {
	size float64
	bold bool
}

func newFonts(slack float64) (*fonts, error) {
	p, err := parsedFonts()
	if err != nil {
		return nil, err
	}
	return &fonts{parsed: p, faces: map[faceKey]font.Face{}, slack: slack}, nil
}

func (fs *fonts) face(size float64, bold bool) font.Face {
	k := faceKey{size, bold}
	if f, ok := fs.faces[k]; ok {
		return f
	}
	i := 0
	if bold {
		i = 1
	}
	f, err := opentype.NewFace(fs.parsed[i], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		// Only an invalid size fails, and the sizes are this package's.
		panic(err)
	}
	fs.faces[k] = f
	return f
}

// width is how many pixels s takes, with the slack.
func (fs *fonts) width(s string, size float64, bold bool) int {
	if s == "" {
		return 0
	}
	w := font.MeasureString(fs.face(size, bold), s).Ceil()
	return int(float64(w)*fs.slack + 0.5)
}

package sheet

import (
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// utf8OrWindows1252 passes valid UTF-8 through and decodes every byte that
// is not part of a valid UTF-8 sequence as Windows-1252, so a file saved
// by Excel on a French Windows machine reads correctly, and so does a
// UTF-8 file with a few such bytes pasted in. NUL bytes are dropped: no
// spreadsheet means them and the database refuses them.
type utf8OrWindows1252 struct {
	transform.NopResetter
	replaced bool // at least one byte was decoded as Windows-1252
}

func (t *utf8OrWindows1252) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c == 0 {
			nSrc++
			continue
		}
		if c < utf8.RuneSelf {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		if !atEOF && !utf8.FullRune(src[nSrc:]) {
			// The sequence may continue in the next chunk.
			if len(src)-nSrc < utf8.UTFMax {
				return nDst, nSrc, transform.ErrShortSrc
			}
		}
		r, size := utf8.DecodeRune(src[nSrc:])
		if r == utf8.RuneError && size <= 1 {
			r = charmap.Windows1252.DecodeByte(c)
			size = 1
			t.replaced = true
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc += size
	}
	return nDst, nSrc, nil
}

// dropNUL removes NUL bytes from already-decoded text.
type dropNUL struct{ transform.NopResetter }

func (dropNUL) Transform(dst, src []byte, _ bool) (nDst, nSrc int, err error) {
	for ; nSrc < len(src); nSrc++ {
		if src[nSrc] == 0 {
			continue
		}
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		dst[nDst] = src[nSrc]
		nDst++
	}
	return nDst, nSrc, nil
}

// crToLF turns old Mac line endings (a lone CR) into LF and leaves CRLF,
// which encoding/csv handles, alone.
type crToLF struct{ transform.NopResetter }

func (crToLF) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if nDst >= len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		c := src[nSrc]
		if c == '\r' {
			if nSrc+1 == len(src) && !atEOF {
				return nDst, nSrc, transform.ErrShortSrc
			}
			if nSrc+1 == len(src) || src[nSrc+1] != '\n' {
				c = '\n'
			}
		}
		dst[nDst] = c
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
}

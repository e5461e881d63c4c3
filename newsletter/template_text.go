package newsletter

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/k3a/html2text"
	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// markdownText writes the plain-text part of a message from the Markdown
// source, as a reader of plain text expects it: headings marked with #,
// numbered lists numbered, links as "text (url)", emphasis dropped.
// Writing it from the Markdown rather than from the HTML keeps what the
// HTML loses (a list's numbers, a heading's rank).
func markdownText(src []byte) string {
	doc := markdown.Parser().Parse(text.NewReader(src))
	w := &textWriter{src: src}
	w.blocks(doc, "")
	return strings.TrimSpace(w.b.String())
}

type textWriter struct {
	src []byte
	b   strings.Builder
}

// blocks writes the block children of n, each line after prefix.
func (w *textWriter) blocks(n ast.Node, prefix string) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		w.block(c, prefix)
	}
}

func (w *textWriter) line(prefix, s string) {
	for _, l := range strings.Split(s, "\n") {
		w.b.WriteString(strings.TrimRight(prefix+l, " ") + "\n")
	}
}

func (w *textWriter) blank() {
	if s := w.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		w.b.WriteString("\n")
	}
}

func (w *textWriter) block(n ast.Node, prefix string) {
	switch n := n.(type) {
	case *ast.Heading:
		// A heading keeps its Markdown marks: an underline could not be
		// sized to a heading holding a field.
		w.line(prefix, strings.Repeat("#", n.Level)+" "+w.inline(n))
		w.blank()
	case *ast.Paragraph, *ast.TextBlock:
		w.line(prefix, w.inline(n))
		if _, tight := n.(*ast.TextBlock); !tight {
			w.blank()
		}
	case *ast.List:
		num := n.Start
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "- "
			if n.IsOrdered() {
				marker = fmt.Sprintf("%d. ", num)
				num++
			}
			w.listItem(item, prefix, marker)
		}
		w.blank()
	case *ast.Blockquote:
		w.blocks(n, prefix+"> ")
		w.blank()
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			w.line(prefix+"    ", strings.TrimRight(string(seg.Value(w.src)), "\n"))
		}
		w.blank()
	case *ast.ThematicBreak:
		w.line(prefix, "----")
		w.blank()
	case *ast.HTMLBlock:
		var b strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.Write(seg.Value(w.src))
		}
		if t := strings.TrimSpace(html2text.HTML2Text(b.String())); t != "" {
			w.line(prefix, t)
			w.blank()
		}
	case *extast.Table:
		for row := n.FirstChild(); row != nil; row = row.NextSibling() {
			var cells []string
			for cell := row.FirstChild(); cell != nil; cell = cell.NextSibling() {
				cells = append(cells, w.inline(cell))
			}
			w.line(prefix, strings.Join(cells, " | "))
		}
		w.blank()
	default:
		if n.Type() == ast.TypeBlock {
			w.blocks(n, prefix)
		} else {
			w.line(prefix, w.inline(n))
		}
	}
}

// listItem writes an item: its first line after the marker, the next
// lines indented under the item's text.
func (w *textWriter) listItem(item ast.Node, prefix, marker string) {
	sub := &textWriter{src: w.src}
	sub.blocks(item, "")
	indent := strings.Repeat(" ", utf8.RuneCountInString(marker))
	for i, l := range strings.Split(strings.TrimRight(sub.b.String(), "\n"), "\n") {
		switch {
		case i == 0:
			w.line(prefix, marker+l)
		case l == "":
			w.b.WriteString("\n")
		default:
			w.line(prefix+indent, l)
		}
	}
}

// inline returns the text of the inline children of n.
func (w *textWriter) inline(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(w.src))
			if c.HardLineBreak() || c.SoftLineBreak() {
				b.WriteString("\n")
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			b.WriteString(w.inline(c))
		case *ast.Link:
			label, dest := w.inline(c), string(c.Destination)
			if label == "" || label == dest || strings.TrimPrefix(dest, "mailto:") == label {
				b.WriteString(dest)
			} else {
				b.WriteString(label + " (" + dest + ")")
			}
		case *ast.AutoLink:
			b.Write(c.URL(w.src))
		case *ast.Image:
			if alt := w.inline(c); alt != "" {
				b.WriteString("[" + alt + "]")
			}
		case *ast.RawHTML:
			for i := 0; i < c.Segments.Len(); i++ {
				seg := c.Segments.At(i)
				if strings.HasPrefix(strings.ToLower(string(seg.Value(w.src))), "<br") {
					b.WriteString("\n")
				}
			}
		default:
			b.WriteString(w.inline(c))
		}
	}
	return b.String()
}

package newsletter

import (
	"image/color"
	"io"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/chart"
)

func funnel(st *Stats) []chart.Bar {
	main := color.RGBA{0x9c, 0x2a, 0x00, 0xff}
	warn := color.RGBA{0x5f, 0x5f, 0x5a, 0xff}
	bar := func(label string, n int, c color.RGBA) chart.Bar {
		return chart.Bar{Label: label, Parts: []chart.Part{{Value: int64(n), Color: c}}}
	}
	return []chart.Bar{
		bar("recipients", st.Recipients, main),
		bar("sent", st.Sent, main),
		bar("delivered", st.Delivered, main),
		bar("failed", st.Failed, warn),
		bar("bounced", st.Bounced, warn),
		bar("complained", st.Complained, warn),
		bar("unsubscribed", st.Unsubscribed, warn),
	}
}

// WriteChart draws a campaign's funnel (recipients, sent, delivered, and
// what went wrong: failed, bounced, complained, unsubscribed) as a small
// picture for an association's board, in format "svg" or "png". It
// returns an error wrapping crm.ErrInvalid for another format.
func WriteChart(w io.Writer, st *Stats, format string) error {
	if format != "svg" && format != "png" {
		return &crm.ValidationError{Field: "format", Value: format, Reason: "want svg or png"}
	}
	return chart.Write(w, format, &chart.Chart{Title: "Campaign " + st.Campaign.Name, Bars: funnel(st)})
}

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

func segmentsCommand() *cli.Command {
	return &cli.Command{
		Name:    "segments",
		Aliases: []string{"segment"},
		Usage:   "saved segment expressions, usable as segment:NAME",
		Subcommands: []*cli.Command{
			{
				Name:      "save",
				Usage:     "check and save an expression under a name",
				ArgsUsage: "NAME EXPR",
				Action: withDB(2, 2, func(c *cli.Context, db *crm.DB) error {
					warnSegment(c, db, c.Args().Get(1))
					seg, err := db.SaveSegment(c.Context, c.Args().Get(0), c.Args().Get(1))
					if err != nil {
						return err
					}
					n, err := db.CountSupporters(c.Context, crm.SupporterFilter{Segment: "segment:" + seg.Name})
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "saved segment %s (%d supporters match now)\n", seg.Name, n)
					return nil
				}),
			},
			{
				Name:  "list",
				Usage: "list saved segments",
				Flags: outputFlags(),
				Action: withReadDB(0, 0, func(c *cli.Context, db *crm.DB) error {
					segs, err := db.Segments(c.Context)
					if err != nil {
						return err
					}
					recs := records{columns: textColumns("name", "expression"), json: segs}
					for _, s := range segs {
						recs.rows = append(recs.rows, []sheet.Value{sheet.Text(s.Name), sheet.Text(s.Expression)})
					}
					return printRecords(c, recs)
				}),
			},
			{
				Name:      "delete",
				Usage:     "delete a saved segment",
				ArgsUsage: "NAME",
				Action: withDB(1, 1, func(c *cli.Context, db *crm.DB) error {
					if err := db.DeleteSegment(c.Context, c.Args().First()); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "deleted segment %s\n", c.Args().First())
					return nil
				}),
			},
		},
	}
}

package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/crm/sheet"
)

func settingsCommand() *cli.Command {
	width := 0
	for _, k := range crm.SettingKeys() {
		width = max(width, len(k.Name))
	}
	var keys []string
	for _, k := range crm.SettingKeys() {
		keys = append(keys, fmt.Sprintf("  %-*s  %s", width, k.Name, k.Description))
	}
	return &cli.Command{
		Name:        "settings",
		Usage:       "the association's profile: name, postal address, public URL, sender, time zone",
		Description: "Flags and environment variables win over settings. The keys:\n" + strings.Join(keys, "\n"),
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     `set a setting ("" removes it)`,
				ArgsUsage: "KEY VALUE",
				Description: "The keys:\n" + strings.Join(keys, "\n") + "\n\n" +
					`In postal-address, \n starts a new line: crm settings set postal-address '5 rue Royale\n62100 Calais'`,
				Action: withDB(2, 2, func(c *cli.Context, db *crm.DB) error {
					key, value := c.Args().Get(0), c.Args().Get(1)
					if err := db.SetSetting(c.Context, key, value); err != nil {
						return settingError(err)
					}
					if strings.TrimSpace(value) == "" {
						fmt.Fprintf(c.App.Writer, "removed %s\n", key)
					} else {
						fmt.Fprintf(c.App.Writer, "set %s\n", strings.ToLower(strings.TrimSpace(key)))
					}
					if strings.EqualFold(strings.TrimSpace(key), "receipt-country") {
						return noteFrenchReceiptKeys(c, db)
					}
					return nil
				}),
			},
			{
				Name:   "list",
				Usage:  "list the settings",
				Flags:  outputFlags(),
				Action: withReadDB(0, 0, listSettings),
			},
		},
	}
}

func listSettings(c *cli.Context, db *crm.DB) error {
	s, err := db.Settings(c.Context)
	if err != nil {
		return err
	}
	recs := records{columns: textColumns("key", "value"), json: s}
	for _, k := range crm.SettingKeys() {
		v := s.Value(k.Name)
		if k.Name == "time-zone" && v == "" {
			v = crm.DefaultTimeZone + " (default)"
		}
		recs.rows = append(recs.rows, []sheet.Value{sheet.Text(k.Name), sheet.Text(strings.ReplaceAll(v, "\n", ", "))})
	}
	return printRecords(c, recs)
}

// noteFrenchReceiptKeys says, in Belgium, which settings of French
// receipts are left and ignored.
func noteFrenchReceiptKeys(c *cli.Context, db *crm.DB) error {
	st, err := db.Settings(c.Context)
	if err != nil || st.Receipt.Country != crm.ReceiptBE {
		return err
	}
	var left []string
	for _, k := range crm.FrenchReceiptKeys {
		if st.Value(k) != "" {
			left = append(left, k)
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(c.App.ErrWriter, "note: %s: French receipts only, ignored on Belgian attestations (281.71); "+
			"crm settings set KEY \"\" removes one\n", strings.Join(left, ", "))
	}
	return nil
}

// settingError says a bad key or value with the key the user typed.
func settingError(err error) error {
	if ve := (*crm.ValidationError)(nil); errors.As(err, &ve) {
		if ve.Field == "key" {
			return usagef("settings set: %q: %s", ve.Value, ve.Reason)
		}
		return fmt.Errorf("%s %q: %s", ve.Field, ve.Value, ve.Reason)
	}
	return err
}

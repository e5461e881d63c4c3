package crm

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

type setting struct {
	bun.BaseModel `bun:"table:settings"`
	Key           string `bun:"key,pk"`
	Value         string `bun:"value"`
}

// Setting returns a value the library keeps in the database (such as the
// token signing secret), and whether it is set.
func (db *DB) Setting(ctx context.Context, key string) (string, bool, error) {
	var vals []string
	if err := db.bun.NewSelect().Table("settings").Column("value").Where("key = ?", key).Scan(ctx, &vals); err != nil {
		return "", false, fmt.Errorf("setting %s: %w", key, err)
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	return vals[0], true, nil
}

// SettingOrInit returns the value of key, storing value first if the key
// has none; of two processes racing, both get the value stored first.
func (db *DB) SettingOrInit(ctx context.Context, key, value string) (string, error) {
	var out string
	err := db.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&setting{Key: key, Value: value}).On("CONFLICT (key) DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		return tx.NewSelect().Table("settings").Column("value").Where("key = ?", key).Scan(ctx, &out)
	})
	if err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return out, nil
}

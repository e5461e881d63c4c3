package dbutil

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

// Setting returns a value the library keeps in crm's settings table (such
// as newsletter's link signing secret), and whether it is set.
func Setting(ctx context.Context, idb bun.IDB, key string) (string, bool, error) {
	var vals []string
	if err := idb.NewSelect().Table("settings").Column("value").Where("key = ?", key).Scan(ctx, &vals); err != nil {
		return "", false, fmt.Errorf("setting %s: %w", key, err)
	}
	if len(vals) == 0 {
		return "", false, nil
	}
	return vals[0], true, nil
}

// SettingOrInit returns the value of key, storing value first if the key
// has none; of two processes racing, both get the value stored first. It
// is one insert that does nothing on conflict, then a read: on idb, a
// transaction or not.
func SettingOrInit(ctx context.Context, idb bun.IDB, key, value string) (string, error) {
	var out string
	if _, err := idb.NewInsert().Model(&setting{Key: key, Value: value}).On("CONFLICT (key) DO NOTHING").Exec(ctx); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	if err := idb.NewSelect().Table("settings").Column("value").Where("key = ?", key).Scan(ctx, &out); err != nil {
		return "", fmt.Errorf("setting %s: %w", key, err)
	}
	return out, nil
}

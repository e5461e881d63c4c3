package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	var b bytes.Buffer
	if err := run(context.Background(), filepath.Join("..", "data"), out, &b); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(filepath.Join(out, "outbox"))
	if len(files) != 5 || !strings.Contains(b.String(), "sent 5 messages") {
		t.Errorf("%d files; printed %q", len(files), b.String())
	}
}

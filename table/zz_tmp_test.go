package table

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTmpCorpus(t *testing.T) {
	dir := os.Getenv("CORPUS")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.SplitN(string(raw), "\n", 2)
		s := strings.TrimSpace(lines[1])
		s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
		data, err := strconv.Unquote(s)
		if err != nil {
			continue
		}
		start := time.Now()
		r, err := NewReader(bytes.NewReader([]byte(data)), "f.csv", Options{})
		if err == nil {
			rows, err := ReadAll(r)
			if err == nil {
				flow(t, rows)
			}
		}
		if d := time.Since(start); d > 20*time.Millisecond {
			t.Logf("%s: %v (%d bytes)", filepath.Base(f), d, len(data))
		}
	}
	t.Logf("%d files", len(files))
}

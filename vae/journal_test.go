package vae

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A journaled estimate stopped part way continues from its journal to the
// estimates of one call without a journal, bit for bit, and removes the
// journal at the end.
func TestNLLJournal(t *testing.T) {
	m, _ := New(Config{Input: 6, Hidden: []int{5}, Latent: 3}, rand.New(rand.NewPCG(5, 5)))
	x := randomInput(rand.New(rand.NewPCG(6, 6)), 250, 6)
	opts := NLLOptions{K: 300, Seed: 9}
	want, err := m.NLL(context.Background(), x, opts)
	if err != nil {
		t.Fatal(err)
	}

	opts.JournalDir = filepath.Join(t.TempDir(), "journals")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := opts
	stopped.Progress = func(done, _ int) {
		if done >= 100 {
			cancel()
		}
	}
	if _, err := m.NLL(ctx, x, stopped); err == nil || !strings.Contains(err.Error(), "kept in") {
		t.Fatalf("stopped estimate: err = %v, want the estimates kept", err)
	}
	files, _ := filepath.Glob(filepath.Join(opts.JournalDir, "*"))
	if len(files) != 1 {
		t.Fatalf("journal folder holds %v, want one journal", files)
	}
	var j nllJournal
	if b, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(b, &j) != nil {
		t.Fatalf("journal: %v", err)
	}
	if len(j.NLL) < 90 || len(j.NLL) >= 250 || !slices.Equal(j.NLL, want[:len(j.NLL)]) {
		t.Fatalf("journal holds %d estimates, want the first ones of 250", len(j.NLL))
	}

	resumedAt := -1
	opts.Progress = func(done, _ int) {
		if resumedAt < 0 {
			resumedAt = done
		}
	}
	got, err := m.NLL(context.Background(), x, opts)
	if err != nil {
		t.Fatal(err)
	}
	if resumedAt != len(j.NLL) || !slices.Equal(got, want) {
		t.Errorf("resumed at %d (journal %d): estimates equal one call's: %v", resumedAt, len(j.NLL), slices.Equal(got, want))
	}
	if files, _ := filepath.Glob(filepath.Join(opts.JournalDir, "*")); len(files) != 0 {
		t.Errorf("journal left after the estimate: %v", files)
	}

	// A journal that is not one, or holds more inputs than there are, is
	// refused with a way on.
	name := filepath.Join(opts.JournalDir, (&nllJournal{K: 300, Seed: 9, N: 250, Fingerprint: m.nllFingerprint(x)}).name())
	long, _ := json.Marshal(nllJournal{K: 300, Seed: 9, N: 250, Fingerprint: m.nllFingerprint(x), NLL: make([]float64, 251)})
	for _, content := range []string{"{not json", string(long)} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := m.NLL(context.Background(), x, opts); err == nil || !strings.Contains(err.Error(), "remove it to start over") {
			t.Errorf("journal %.20q: err = %v", content, err)
		}
	}
	// Another estimate (K) gets its own journal.
	opts.K = 200
	if _, err := m.NLL(context.Background(), x, opts); err != nil {
		t.Errorf("another K beside a bad journal: %v", err)
	}
}

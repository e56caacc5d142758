package vae

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/govae/vae/internal/atomicfile"
)

// nllJournal is the content of a journal in NLLOptions.JournalDir: which
// estimate it is part of, and the estimates of the first inputs.
type nllJournal struct {
	K           int       `json:"k"`
	Seed        uint64    `json:"seed"`
	N           int       `json:"n"`           // inputs in all
	Fingerprint string    `json:"fingerprint"` // of the model, x and the classes (nllFingerprint)
	NLL         []float64 `json:"nll"`         // the first len(NLL) inputs' estimates
}

// maxJournal bounds the size of a journal NLL reads: 64 bytes per input
// of a billion inputs.
const maxJournal = 64 << 30

// nllJournaled is NLL with opts.JournalDir: it continues from the
// estimate's journal there, computes the rest in steps of about 1% of the
// inputs, and writes the journal after each.
func (m *Model) nllJournaled(ctx context.Context, x []float32, n, K int, opts NLLOptions) ([]float64, error) {
	want := nllJournal{K: K, Seed: opts.Seed, N: n, Fingerprint: m.nllFingerprint(x)}
	if err := os.MkdirAll(opts.JournalDir, 0o755); err != nil {
		return nil, fmt.Errorf("nll: journal: %w", err)
	}
	path := filepath.Join(opts.JournalDir, want.name())
	j, err := readJournal(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		j = &want
	case err != nil:
		return nil, fmt.Errorf("nll: journal %s: %w", path, err)
	case j.K != K || j.Seed != opts.Seed || j.N != n || j.Fingerprint != want.Fingerprint:
		return nil, fmt.Errorf("nll: journal %s belongs to another estimate (K %d, seed %d, %d inputs, or another model or data: this one is K %d, seed %d, %d inputs); remove it to start over",
			path, j.K, j.Seed, j.N, K, opts.Seed, n)
	case len(j.NLL) > n:
		return nil, fmt.Errorf("nll: journal %s holds %d estimates for %d inputs; remove it to start over", path, len(j.NLL), n)
	}
	nll := make([]float64, n)
	done := copy(nll, j.NLL)
	for i, v := range nll[:done] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("nll: journal %s: estimate %d is %v; remove it to start over", path, i, v)
		}
	}
	if done > 0 && opts.Progress != nil {
		opts.Progress(done, n)
	}
	// Steps of whole units of nllRows, so that the units, and the results,
	// are those of one call without a journal.
	g := m.nllUnit(K)
	step := g * max(1, n/100/g)
	for lo := done; lo < n; lo += step {
		hi := min(n, lo+step)
		if err := m.nllRows(ctx, nll, x, lo, hi, K, opts); err != nil {
			return nil, fmt.Errorf("%w (%d estimates kept in %s)", err, lo, path)
		}
		j.NLL = nll[:hi]
		if err := writeJournal(path, j); err != nil {
			return nil, fmt.Errorf("nll: journal: %w", err)
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("nll: journal: %w", err)
	}
	return nll, nil
}

// name returns the file name of j's estimate: a hash of what it estimates.
func (j *nllJournal) name() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s k%d seed%d n%d", j.Fingerprint, j.K, j.Seed, j.N))
	return "nll-" + hex.EncodeToString(h[:8]) + ".journal.json"
}

func readJournal(path string) (*nllJournal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.Size() > maxJournal {
		return nil, fmt.Errorf("%d bytes, more than a journal holds; remove it to start over", st.Size())
	}
	var j nllJournal
	if err := json.NewDecoder(f).Decode(&j); err != nil {
		return nil, fmt.Errorf("not a journal of NLL (%v); remove it to start over", err)
	}
	return &j, nil
}

func writeJournal(path string, j *nllJournal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b)
}

// nllFingerprint returns a SHA-256 of what NLL's estimates depend on
// besides K and the seed: the model's configuration and parameters, x, and
// the classes a conditional model was given.
func (m *Model) nllFingerprint(x []float32) string {
	h := sha256.New()
	cfg, _ := json.Marshal(m.Config) // a Config always marshals
	h.Write(cfg)
	buf := make([]byte, 0, 1<<16)
	floats := func(v []float32) { // in pieces of buf, not one copy of x
		for len(v) > 0 {
			k := min(len(v), cap(buf)/4)
			buf, _ = binary.Append(buf[:0], binary.LittleEndian, v[:k]) // a []float32 always encodes
			h.Write(buf)
			v = v[k:]
		}
	}
	for _, p := range m.Params() {
		floats(p.Value)
	}
	floats(x)
	h.Write(m.classes)
	return hex.EncodeToString(h.Sum(nil))
}

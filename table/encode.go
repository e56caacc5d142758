package table

import (
	"fmt"

	"github.com/govae/vae/budget"
)

// Encode returns the model's input for every record of rows, N rows of
// Width values one after the other, as Binding.Encode writes them. An error
// names the file and line of the record at fault. The size of the result is
// checked against the memory budget first.
func (s *Schema) Encode(rows *Rows) ([]float32, error) {
	if err := rows.check(); err != nil {
		return nil, err
	}
	b, err := s.Bind(rows.Columns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rows.Name, err)
	}
	b.IsMissing = missingFunc(rows.Missing)
	n, w := len(rows.Records), b.Width()
	what := fmt.Sprintf("encoding %d rows of %s into %d values each", n, rows.Name, w)
	if err := budget.Check(what, budget.Mul(int64(n), int64(w), 4)); err != nil {
		return nil, err
	}
	out := make([]float32, n*w)
	const block = 4096 // rows a goroutine encodes at a time
	err = parallel((n+block-1)/block, func(k int) error {
		for i := k * block; i < min(n, (k+1)*block); i++ {
			if err := b.Encode(out[i*w:(i+1)*w], rows.Records[i]); err != nil {
				return fmt.Errorf("%s:%d: %w", rows.Name, rows.Line(i), err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

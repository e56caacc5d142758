package table

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzReader reads arbitrary bytes as a table and takes them through the
// whole flow: nothing may panic, and what encodes must decode.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"a,b\n1,2\n3,4\n",
		"a\tb\nx\t1.5\ny\tNA\n",
		"a;b\n\"q;\"\"q\";2\n",
		"1,2,3\n4,5,6\n",
		"a,b\n1\n",
		"a,a\n1,2\n",
		"\ufeffa|b\n1|Inf\n",
		"x\n\"unterminated\n",
		gz("a,b\n1,2\n"),
		"",
		mixed,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz.csv", Options{})
		if err != nil {
			return
		}
		defer r.Close()
		rows, err := ReadAll(r)
		if err != nil {
			return
		}
		for _, rec := range rows.Records {
			if len(rec) != len(rows.Columns) {
				t.Fatalf("a record of %d cells, %d columns", len(rec), len(rows.Columns))
			}
		}
		flow(t, rows)
	})
}

// FuzzInfer infers, fits and encodes one or two columns of arbitrary cells,
// split at line breaks and, for the second column, at '|'.
func FuzzInfer(f *testing.F) {
	for _, seed := range []string{
		"1\n2\n3",
		"1.5\n-2\nNA\n1e300",
		"a\nb\na|1",
		"0\n1\n1|x",
		"Inf\n1\n2",
		"1\n2\nx\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n17\n18\n19\n20",
		"0.001\n1000\n0.5\n20000",
	} {
		f.Add(seed, 3)
	}
	f.Fuzz(func(t *testing.T, cells string, maxCategories int) {
		rows := &Rows{Name: "fuzz.csv", Columns: []string{"a", "b"}}
		for line := range strings.SplitSeq(cells, "\n") {
			a, b, _ := strings.Cut(line, "|")
			rows.Records = append(rows.Records, []string{strings.TrimSpace(a), strings.TrimSpace(b)})
		}
		flowHints(t, rows, Hints{MaxCategories: maxCategories % 200})
	})
}

// flow infers, fits, encodes and decodes rows, checking what it can.
func flow(t *testing.T, rows *Rows) { flowHints(t, rows, Hints{}) }

func flowHints(t *testing.T, rows *Rows, h Hints) {
	s, err := Infer(rows, h)
	if err != nil {
		return
	}
	if len(s.Columns) != len(rows.Columns) {
		t.Fatalf("%d columns typed of %d", len(s.Columns), len(rows.Columns))
	}
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(rows); err != nil {
		return
	}
	x, err := s.Encode(rows)
	if err != nil {
		// Text a Categorical column saw in Fit always encodes; only an
		// unknown category or a bad number may fail, and Fit rules those out.
		t.Fatalf("Encode after Fit: %v", err)
	}
	w := s.Width()
	if len(x) != w*len(rows.Records) {
		t.Fatalf("%d values, want %d×%d", len(x), len(rows.Records), w)
	}
	for _, v := range x {
		if math.IsInf(float64(v), 0) {
			t.Fatalf("an infinite value in %v", x)
		}
	}
	for i := range rows.Records {
		cells, err := s.Decode(nil, x[i*w:(i+1)*w])
		if err != nil {
			t.Fatal(err)
		}
		if len(cells) != len(s.Features()) {
			t.Fatalf("%d cells decoded, want %d", len(cells), len(s.Features()))
		}
		// Categories decode to themselves.
		for k, f := range s.Features() {
			cell := rows.Records[i][rows.column(f.Name)]
			if (f.Type == Categorical || f.Type == Binary) && !rows.IsMissing(cell) && cells[k] != cell {
				t.Fatalf("%s: %q decoded as %q", f.Name, cell, cells[k])
			}
		}
	}
}

// column returns the index of the column named name, or -1.
func (r *Rows) column(name string) int {
	for j, c := range r.Columns {
		if c == name {
			return j
		}
	}
	return -1
}

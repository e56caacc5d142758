package table

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"testing"
)

// mixedCSV returns a table of n rows and 20 columns: an id, 8 continuous,
// 3 positive and skewed, 3 binary and 4 categorical columns and a small
// integer code, with 2% of the cells missing.
func mixedCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("id")
	for k := range 8 {
		fmt.Fprintf(&b, ",x%d", k)
	}
	b.WriteString(",income,price,wait,smoker,member,sex,city,color,plan,device,code\n")
	cities := []string{"Paris", "Lyon", "Nice", "Lille", "Brest", "Metz", "Pau", "Caen"}
	colors := []string{"red", "green", "blue", "black", "white"}
	plans := []string{"free", "basic", "pro", "team", "enterprise"}
	devices := []string{"phone", "tablet", "desktop", "tv", "watch", "car", "other"}
	cell := func(s string) {
		b.WriteByte(',')
		if rng.IntN(50) != 0 {
			b.WriteString(s)
		}
	}
	for i := range n {
		fmt.Fprintf(&b, "u%07d", i)
		for k := range 8 {
			cell(fmt.Sprintf("%.4f", rng.NormFloat64()*float64(k+1)+float64(10*k)))
		}
		for k := range 3 {
			cell(fmt.Sprintf("%.2f", math.Exp(rng.NormFloat64()+float64(k))))
		}
		cell([]string{"no", "yes"}[rng.IntN(2)])
		cell([]string{"0", "1"}[rng.IntN(2)])
		cell([]string{"F", "M"}[rng.IntN(2)])
		cell(cities[rng.IntN(len(cities))])
		cell(colors[rng.IntN(len(colors))])
		cell(plans[rng.IntN(len(plans))])
		cell(devices[rng.IntN(len(devices))])
		cell(fmt.Sprint(rng.IntN(6)))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// fittedMixed returns the schema of the mixedCSV table r reads, fitted,
// every column but the id typed.
func fittedMixed(b *testing.B, r *Reader) *Schema {
	b.Helper()
	rows, err := ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	s, err := Infer(rows, Hints{ID: "id"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Fit(rows); err != nil {
		b.Fatal(err)
	}
	for _, c := range s.Columns[1:] {
		if c.Type == Ignored {
			b.Fatalf("column %s ignored: %s", c.Name, c.Note)
		}
	}
	return s
}

// encodeStream encodes every record r reads with s, row by row.
func encodeStream(b *testing.B, s *Schema, r *Reader) {
	b.Helper()
	enc, err := s.Bind(r.Columns())
	if err != nil {
		b.Fatal(err)
	}
	enc.IsMissing = r.IsMissing
	dst := make([]float32, enc.Width())
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := enc.Encode(dst, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadEncode reads a 20-column table of 100000 rows from memory
// and encodes it row by row, as a stream.
func BenchmarkReadEncode(b *testing.B) {
	const n = 100000
	data := mixedCSV(n)
	r, err := NewReader(bytes.NewReader(data), "bench.csv", Options{})
	if err != nil {
		b.Fatal(err)
	}
	s := fittedMixed(b, r)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), "bench.csv", Options{})
		if err != nil {
			b.Fatal(err)
		}
		encodeStream(b, s, r)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkInferFit infers and fits the schema of the same table in memory.
func BenchmarkInferFit(b *testing.B) {
	r, err := NewReader(bytes.NewReader(mixedCSV(100000)), "bench.csv", Options{})
	if err != nil {
		b.Fatal(err)
	}
	rows, err := ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Infer(rows, Hints{ID: "id"})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Fit(rows); err != nil {
			b.Fatal(err)
		}
	}
}

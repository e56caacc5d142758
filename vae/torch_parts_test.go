package vae

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/table"
)

// needTorch skips t when /usr/bin/python3 cannot import torch.
func needTorch(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skip("skipped: /usr/bin/python3 cannot import torch; apt-get install python3-torch")
	}
}

// torchTable returns the training rows of a small table (an id, a
// continuous, a positive, a binary and two categorical columns, a free-text
// column and a binary label), with missing cells, and its schema fitted on
// them, whose unseen categories are encoded as unknown says.
func torchTable(t *testing.T, unknown string) *table.Schema {
	t.Helper()
	rows := &table.Rows{
		Name:    "people.csv",
		Columns: []string{"id", "age", "income", "smoker", "city", "blood", "note", "outcome"},
	}
	cities, blood := []string{"Paris", "Lyon", "Nice"}, []string{"A", "B", "AB", "O"}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 40 {
		rec := []string{
			strings.Repeat("x", i+1),
			formatG(20 + 50*rng.Float64()),
			formatG(math.Exp(10 + rng.NormFloat64())),
			[]string{"no", "yes"}[rng.IntN(2)],
			cities[rng.IntN(3)],
			blood[rng.IntN(4)],
			"free text " + formatG(float64(i)),
			[]string{"0", "1"}[rng.IntN(2)],
		}
		if i%5 == 3 {
			rec[1+i%4] = "NA" // age, income, smoker or city
		}
		rows.Records = append(rows.Records, rec)
	}
	s := &table.Schema{
		Columns: []table.Column{
			{Name: "id", Type: table.Ignored}, {Name: "age", Type: table.Continuous}, {Name: "income", Type: table.Positive},
			{Name: "smoker", Type: table.Binary}, {Name: "city", Type: table.Categorical}, {Name: "blood", Type: table.Categorical},
			{Name: "note", Type: table.Ignored}, {Name: "outcome", Type: table.Binary},
		},
		ID: "id", Label: "outcome", Unknown: unknown,
	}
	if err := s.Fit(rows); err != nil {
		t.Fatal(err)
	}
	return s
}

// formatG formats v in the fewest digits that read back as v.
func formatG(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// rawRows are records to preprocess, in another column order than the
// training file's, with a column the schema does not know: numbers written
// in the ways strconv.ParseFloat reads them, cells padded with spaces, and
// every default missing token in every column, padded or not. With unknown
// set, one more record has unseen categories (Rome, maybe).
func rawRows(unknown bool) (columns []string, records [][]string) {
	columns = []string{"blood", "extra", "city", "outcome", "income", "smoker", "age", "id"}
	records = [][]string{
		{"A", "1", "Paris", "1", "42000", "no", "34", "a"},
		{" O ", "2", " Nice", "0", "1e5", "yes ", " 51.25 ", "b"},
		{"AB", "3", "Lyon", "", "0x1.8p14", "no", "+29", "c"},
		{"B", "4", "Paris", "1", ".5e4", "no", "6.2E1", "d"},
		{"O", "5", "Paris", "0", "3.", "yes", "-0.0", "e"},
		{"A", "6", "Lyon", "1", "1234567.875", "no", "1e-3", "f"},
	}
	if unknown {
		records = append(records, []string{"B", "7", "Rome", "1", "500", "maybe", "44", "g"})
	}
	model := []int{0, 2, 4, 5, 6} // the model's columns in records
	for i, tok := range table.DefaultMissing() {
		for j, c := range model {
			rec := []string{"B", "x", "Nice", "0", "777", "yes", "40", "m"}
			rec[c] = tok
			if (i+j)%2 == 1 {
				rec[c] = " " + tok + "\t"
			}
			if j == 2 { // and in a second column
				rec[model[(i+j)%5]] = tok
			}
			records = append(records, rec)
		}
	}
	return columns, records
}

// A model of a table's columns, loaded by scripts/torch_vae.py: its
// preprocessing of raw rows equals Schema.Encode (Binding.Encode), its
// encoder means and log-variances equal Encode, and its decoder means of
// the posterior means equal Reconstruct; with either policy for unseen
// categories. Without --rows, the script prints the preprocessing. With the
// default policy, an unseen category is an error in the script as in
// Schema.Encode.
func TestTorchVAETable(t *testing.T) {
	needTorch(t)
	for _, unknown := range []string{table.UnknownMissing, ""} {
		t.Run("unknown="+unknown, func(t *testing.T) {
			dir := t.TempDir()
			schema := torchTable(t, unknown)
			cfg := Config{Input: schema.Width(), Hidden: []int{12, 6}, Latent: 3, Activation: nn.Tanh, Init: nn.InitPyTorch, Parts: TableParts(schema)}
			rng := rand.New(rand.NewPCG(3, 4))
			m, err := New(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			for i := range m.OutputLogVar.Value {
				m.OutputLogVar.Value[i] = float32(rng.Float64() - 0.5)
			}
			m.Table = schema
			path := filepath.Join(dir, "model.safetensors")
			if err := Save(path, m); err != nil {
				t.Fatal(err)
			}
			if m, err = Load(path); err != nil {
				t.Fatal(err)
			}
			columns, records := rawRows(unknown == table.UnknownMissing)
			compareTorchTable(t, m, path, columns, records)

			if unknown == table.UnknownMissing {
				b, err := exec.Command(python, "../scripts/torch_vae.py", path).CombinedOutput()
				if err != nil || !strings.Contains(string(b), "preprocess") || !strings.Contains(string(b), "income (positive)") {
					t.Errorf("torch_vae.py MODEL: %v\n%s", err, b)
				}
				t.Logf("torch_vae.py MODEL:\n%s", b)
				return
			}
			bad := [][]string{{"B", "7", "Rome", "1", "500", "no", "44", "g"}, {"B", "7", "Nice", "1", "500", "maybe", "44", "g"}}
			for _, rec := range bad {
				if _, err := m.Table.Encode(&table.Rows{Name: "rows.csv", Columns: columns, Records: [][]string{rec}}); err == nil {
					t.Fatalf("Schema.Encode took an unknown category in %q", rec)
				}
				rowsPath := filepath.Join(dir, "bad.csv")
				writeCSV(t, rowsPath, columns, [][]string{rec})
				b, err := exec.Command(python, "../scripts/torch_vae.py", path, "--rows", rowsPath).CombinedOutput()
				if err == nil || !strings.Contains(string(b), "unknown category") {
					t.Errorf("torch_vae.py took an unknown category in %q: %v\n%s", rec, err, b)
				}
			}
		})
	}
}

// compareTorchTable checks torch_vae.py's preprocessing and forward pass of
// the model file at path (m, loaded) on the records against Go's.
func compareTorchTable(t *testing.T, m *Model, path string, columns []string, records [][]string) {
	t.Helper()
	dir := t.TempDir()
	rowsPath := filepath.Join(dir, "rows.csv")
	writeCSV(t, rowsPath, columns, records)
	x, err := m.Table.Encode(&table.Rows{Name: "rows.csv", Columns: columns, Records: records})
	if err != nil {
		t.Fatal(err)
	}
	D, n := m.Config.Input, len(records)

	out := filepath.Join(dir, "out.safetensors")
	b, err := exec.Command(python, "../scripts/torch_vae.py", path, "--rows", rowsPath, "--out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("torch_vae.py --rows: %v\n%s", err, b)
	}
	t.Logf("torch_vae.py: %s", strings.TrimSpace(string(b)))
	want := readSafetensors(t, out)

	// The preprocessing: NaN in the same places, the same values elsewhere.
	px, err := want.Get("x", n, D)
	if err != nil {
		t.Fatal(err)
	}
	var nans int
	for i := range x {
		if gn, wn := math.IsNaN(float64(x[i])), math.IsNaN(float64(px[i])); gn || wn {
			if gn != wn {
				t.Errorf("preprocessed row %d, input %d: Go %v, PyTorch %v", i/D, i%D, x[i], px[i])
			}
			nans++
		}
	}
	rel, at := worstDiff(zeroNaN(x), zeroNaN(px), nil)
	t.Logf("%-10s worst relative difference %.2e at %d: Go %.9g, PyTorch %.9g (%d of %d NaN)", "x", rel, at, x[at], px[at], nans, len(x))
	if rel > 1e-6 {
		t.Errorf("preprocessing differs from Schema.Encode by %.2e, more than 1e-6", rel)
	}

	mean, logVar, err := m.Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	recon, err := m.Reconstruct(x)
	if err != nil {
		t.Fatal(err)
	}
	L := m.Config.Latent
	for _, c := range []struct {
		name string
		got  []float32
		cols int
	}{{"z_mean", mean, L}, {"z_log_var", logVar, L}, {"recon", recon, D}} {
		w, err := want.Get(c.name, n, c.cols)
		if err != nil {
			t.Fatal(err)
		}
		rel, at := worstDiff(c.got, w, nil)
		t.Logf("%-10s worst relative difference %.2e at %d: Go %.9g, PyTorch %.9g", c.name, rel, at, c.got[at], w[at])
		if !(rel <= 1e-5) {
			t.Errorf("%s differs from Go's by %.2e, more than 1e-5", c.name, rel)
		}
	}
}

// writeCSV writes a header and records to path as CSV.
func writeCSV(t *testing.T, path string, header []string, records [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(header)
	w.WriteAll(records)
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// zeroNaN returns a copy of v with its NaNs replaced by 0.
func zeroNaN(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		if !math.IsNaN(float64(x)) {
			out[i] = x
		}
	}
	return out
}

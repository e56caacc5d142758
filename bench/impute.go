package bench

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/govae/vae/internal/atomicfile"
	"github.com/govae/vae/run"
	"github.com/govae/vae/table"
)

// ImputeOptions say how Impute measures. Zero fields take the defaults in
// their comments.
type ImputeOptions struct {
	Dir    string  // folder for the tables and the run; must be empty or new
	Rows   int     // rows of the generated table; default 30000, a fifth of them test rows
	Epochs int     // default 40
	Hide   float64 // share of the test rows' known cells hidden for imputation; default 0.1
	Seed   uint64
	Logger *slog.Logger
}

// ImputeReport is what Impute measured.
type ImputeReport struct {
	Rows, TestRows, Hidden int
	Missing                float64 // share of the generated cells missing
	TrainSeconds           float64
	Columns                []ImputeColumn
}

// ImputeColumn compares the model's imputation of one column with the
// column's training mean (numbers) or mode (categories).
type ImputeColumn struct {
	Name, Type    string
	Hidden        int     // cells hidden and imputed
	Metric        string  // "RMSE" (in the column's standard units; positive columns on their log scale) or "accuracy"
	VAE, Baseline float64 // the metric of the model's and the baseline's imputations
}

// columns of the generated table, after the id.
var imputeColumns = []string{"age", "bmi", "income", "smoker", "region", "plan"}

// generate returns n rows of a table whose six columns depend on three
// latent factors: age and bmi continuous, income positive and skewed,
// smoker binary, region (four) and plan (three) categorical.
func generate(n int, rng *rand.Rand) [][]string {
	regions, plans := []string{"north", "south", "east", "west"}, []string{"basic", "plus", "premium"}
	rows := make([][]string, n)
	for i := range rows {
		u := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		e := func(s float64) float64 { return s * rng.NormFloat64() }
		age := 45 + 12*(0.8*u[0]+0.4*u[1]) + e(3)
		bmi := 26 + 3*u[2] - 1.5*u[0] + e(1.5)
		logIncome := 10.5 + 0.5*u[1] + 0.3*u[0] + e(0.15)
		smoker := "no"
		if rng.Float64() < 1/(1+math.Exp(-(2*u[2]-1.5*u[1]))) {
			smoker = "yes"
		}
		gumbel := func() float64 { return -math.Log(-math.Log(rng.Float64())) }
		region := argmax([]float64{2*u[0] + gumbel(), -2*u[0] + gumbel(), 2*u[2] + gumbel(), -2*u[2] + gumbel()})
		plan := argmax([]float64{-2*u[1] + gumbel(), gumbel(), 2*u[1] + 0.5*u[0] + gumbel()})
		rows[i] = []string{strconv.Itoa(i), strconv.FormatFloat(age, 'f', 1, 64), strconv.FormatFloat(bmi, 'f', 1, 64),
			strconv.FormatFloat(math.Exp(logIncome), 'f', 0, 64), smoker, regions[region], plans[plan]}
	}
	return rows
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// writeCSV writes a table with the header id and imputeColumns.
func writeCSV(path string, rows [][]string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(append([]string{"id"}, imputeColumns...))
		cw.WriteAll(rows)
		return cw.Error()
	})
}

// Impute measures imputation on a generated table: it trains a model with
// run.Train on the training rows (8% of cells missing), hides a share of
// the known cells of the test rows, fills them with the model
// (vae.Model.ImputeTable) and with each column's training mean or mode, and
// compares both with the hidden values.
func Impute(ctx context.Context, o ImputeOptions) (*ImputeReport, error) {
	if o.Rows == 0 {
		o.Rows = 30000
	}
	if o.Epochs == 0 {
		o.Epochs = 40
	}
	if o.Hide == 0 {
		o.Hide = 0.1
	}
	if o.Rows < 100 {
		return nil, fmt.Errorf("impute bench: %d rows, want ≥ 100", o.Rows)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	rows := generate(o.Rows, rng)
	const missing = 0.08
	for _, r := range rows {
		for j := 1; j < len(r); j++ {
			if rng.Float64() < missing {
				r[j] = ""
			}
		}
	}
	nTest := o.Rows / 5
	train, test := rows[:o.Rows-nTest], rows[o.Rows-nTest:]
	holes := make([][]string, len(test))
	type cell struct{ row, col int }
	var hidden []cell
	for i, r := range test {
		holes[i] = append([]string(nil), r...)
		for j := 1; j < len(r); j++ {
			if r[j] != "" && rng.Float64() < o.Hide {
				holes[i][j] = ""
				hidden = append(hidden, cell{i, j})
			}
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	trainPath, testPath, holesPath := filepath.Join(o.Dir, "train.csv"), filepath.Join(o.Dir, "test.csv"), filepath.Join(o.Dir, "holes.csv")
	for _, f := range []struct {
		path string
		rows [][]string
	}{{trainPath, train}, {testPath, test}, {holesPath, holes}} {
		if err := writeCSV(f.path, f.rows); err != nil {
			return nil, err
		}
	}

	spec := run.DefaultSpec()
	spec.Data = trainPath
	spec.DataOptions = run.DataOptions{Test: testPath, ID: "id"}
	spec.Model.Hidden, spec.Model.Latent = []int{64, 64}, 4
	spec.Train.Epochs = o.Epochs
	spec.Train.Seed = o.Seed
	start := time.Now()
	m, err := run.Train(ctx, filepath.Join(o.Dir, "run"), spec, run.Hooks{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	rep := &ImputeReport{Rows: o.Rows, TestRows: nTest, Hidden: len(hidden), Missing: missing, TrainSeconds: time.Since(start).Seconds()}

	r, err := table.Open(holesPath, table.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	filledPath := filepath.Join(o.Dir, "imputed.csv")
	if err := atomicfile.Write(filledPath, func(w io.Writer) error { return m.ImputeTable(ctx, r, w, 20, o.Seed) }); err != nil {
		return nil, err
	}
	filled, err := readCSV(filledPath)
	if err != nil {
		return nil, err
	}

	s := m.Table
	for j, name := range imputeColumns {
		col := s.Columns[j+1]
		c := ImputeColumn{Name: name, Type: string(col.Type), Metric: "accuracy"}
		numeric := col.Type == table.Continuous || col.Type == table.Positive
		if numeric {
			c.Metric = "RMSE"
		}
		// in standard units: the model's own (x − mean)/std, of log x for a positive column
		std := func(v string) float64 {
			x, _ := strconv.ParseFloat(v, 64)
			if col.Type == table.Positive {
				x = math.Log(x)
			}
			return (x - col.Mean) / col.Std
		}
		mode := mostCommon(train, j+1)
		var vae, base float64
		for _, h := range hidden {
			if h.col != j+1 {
				continue
			}
			c.Hidden++
			truth, got := test[h.row][h.col], filled[h.row][h.col]
			if numeric {
				d := std(got) - std(truth)
				vae += d * d
				base += std(truth) * std(truth) // the training mean is 0 in standard units
			} else {
				vae += b2f(got == truth)
				base += b2f(mode == truth)
			}
		}
		if c.Hidden == 0 {
			continue
		}
		n := float64(c.Hidden)
		c.VAE, c.Baseline = vae/n, base/n
		if numeric {
			c.VAE, c.Baseline = math.Sqrt(c.VAE), math.Sqrt(c.Baseline)
		}
		rep.Columns = append(rep.Columns, c)
	}
	return rep, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// mostCommon returns the most common non-empty cell of column j.
func mostCommon(rows [][]string, j int) string {
	count := map[string]int{}
	best := ""
	for _, r := range rows {
		if v := r[j]; v != "" {
			count[v]++
			if count[v] > count[best] || (count[v] == count[best] && v < best) {
				best = v
			}
		}
	}
	return best
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows[1:], nil
}

// WriteTable prints the report as a table.
func (r *ImputeReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%d rows (%d test rows), %.0f%% of cells missing; %d known test cells hidden and imputed; training %.1f s\n",
		r.Rows, r.TestRows, 100*r.Missing, r.Hidden, r.TrainSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "column\ttype\thidden\tmetric\tvae\tmean/mode\t")
	for _, c := range r.Columns {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.3f\t%.3f\t\n", c.Name, c.Type, c.Hidden, c.Metric, c.VAE, c.Baseline)
	}
	return tw.Flush()
}

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"text/tabwriter"
	"time"

	"github.com/govae/vae/table"
)

// IngestOptions say what Ingest measures.
type IngestOptions struct {
	Path   string // the CSV file
	Repeat int    // best of; default 3
	Python string // Python with pandas and scikit-learn; default /usr/bin/python3; "-" skips it
	Script string // default scripts/ingest_pandas.py
}

// IngestReport is what Ingest measured: seconds are the best of the
// repeats.
type IngestReport struct {
	Path          string
	Bytes         int64
	Rows, Width   int
	Train         float64 // read all, infer, fit, encode: what vae train does
	Stream        float64 // read and encode with a fitted schema, record by record: what vae score does
	Pandas        float64 // pandas.read_csv + StandardScaler + OneHotEncoder; 0 when not run
	PandasVersion string
	PandasNote    string // why pandas was not measured
}

// Ingest times reading and preprocessing the CSV at o.Path as vae train
// (all rows in memory) and vae score (a stream) do, and pandas with
// scikit-learn on the same file in the same run.
func Ingest(ctx context.Context, o IngestOptions) (*IngestReport, error) {
	if o.Repeat == 0 {
		o.Repeat = 3
	}
	fi, err := os.Stat(o.Path)
	if err != nil {
		return nil, err
	}
	r := &IngestReport{Path: o.Path, Bytes: fi.Size()}
	var schema *table.Schema
	train := func() error {
		t, err := table.Open(o.Path, table.Options{})
		if err != nil {
			return err
		}
		defer t.Close()
		rows, err := table.ReadAll(t)
		if err != nil {
			return err
		}
		if schema, err = table.Infer(rows, table.Hints{}); err != nil {
			return err
		}
		if err := schema.Fit(rows); err != nil {
			return err
		}
		_, err = schema.Encode(rows) // the matrix training would hold
		r.Rows, r.Width = len(rows.Records), schema.Width()
		return err
	}
	stream := func() error {
		t, err := table.Open(o.Path, table.Options{})
		if err != nil {
			return err
		}
		defer t.Close()
		b, err := schema.Bind(t.Columns())
		if err != nil {
			return err
		}
		b.IsMissing = t.IsMissing
		dst := make([]float32, b.Width())
		for {
			rec, err := t.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := b.Encode(dst, rec); err != nil {
				return fmt.Errorf("%s:%d: %w", o.Path, t.Line(), err)
			}
		}
	}
	for _, m := range []struct {
		f   func() error
		dst *float64
	}{{train, &r.Train}, {stream, &r.Stream}} {
		for i := range o.Repeat {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := m.f(); err != nil {
				return nil, err
			}
			if s := time.Since(start).Seconds(); i == 0 || s < *m.dst {
				*m.dst = s
			}
		}
	}
	r.addPandas(ctx, o)
	return r, nil
}

func (r *IngestReport) addPandas(ctx context.Context, o IngestOptions) {
	py, script := o.Python, o.Script
	if py == "" {
		py = "/usr/bin/python3"
	}
	if script == "" {
		script = "scripts/ingest_pandas.py"
	}
	if py == "-" {
		r.PandasNote = "skipped (--python -)"
		return
	}
	out, err := exec.CommandContext(ctx, py, script, r.Path, "--repeat", fmt.Sprint(o.Repeat)).Output()
	if err != nil {
		r.PandasNote = fmt.Sprintf("not measured: %s %s: %v (apt-get install python3-pandas python3-sklearn)", py, script, err)
		return
	}
	var res struct {
		Seconds         float64
		Pandas, Sklearn string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		r.PandasNote = fmt.Sprintf("not measured: %s printed %q", script, out)
		return
	}
	r.Pandas, r.PandasVersion = res.Seconds, fmt.Sprintf("pandas %s, scikit-learn %s", res.Pandas, res.Sklearn)
}

// WriteTable prints the report.
func (r *IngestReport) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "%s: %d rows, %.1f MB, %d model inputs; %s\n", r.Path, r.Rows, float64(r.Bytes)/1e6, r.Width, cpuName())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pipeline\tseconds\trows/s\tMB/s\t")
	line := func(name string, s float64) {
		fmt.Fprintf(tw, "%s\t%.2f\t%.0f\t%.1f\t\n", name, s, float64(r.Rows)/s, float64(r.Bytes)/1e6/s)
	}
	line("vae: read all, infer, fit, encode (train)", r.Train)
	line("vae: read and encode a stream (score)", r.Stream)
	if r.Pandas > 0 {
		line("pandas read_csv + StandardScaler + OneHotEncoder", r.Pandas)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Pandas > 0 {
		fmt.Fprintf(w, "train-time ingest / pandas: %.2f× (%s)\n", r.Pandas/r.Train, r.PandasVersion)
	} else {
		fmt.Fprintf(w, "pandas: %s\n", r.PandasNote)
	}
	return nil
}

package vaebeam_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/parquet-go/parquet-go"

	vaebeam "github.com/govae/vae/beam"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

func TestMain(m *testing.M) {
	beam.Init() // the workers of the in-process runner start from here
	os.Exit(m.Run())
}

// shardCSV returns a shard of n rows of a table of an id, a number and a
// category, the rows numbered from first.
func shardCSV(rng *rand.Rand, first, n int) string {
	var b strings.Builder
	b.WriteString("id,size,colour\n")
	for i := range n {
		fmt.Fprintf(&b, "r%d,%.3f,%s\n", first+i, 1+rng.NormFloat64(), []string{"red", "green", "blue"}[rng.IntN(3)])
	}
	return b.String()
}

// tableModel returns an untrained model of the table with its schema fitted
// on csv: the scores are as deterministic as a trained model's.
func tableModel(t *testing.T, csv string) *vae.Model {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(csv), "fit.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := table.Infer(rows, table.Hints{ID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Fit(rows); err != nil {
		t.Fatal(err)
	}
	m, err := vae.New(vae.Config{Input: schema.Width(), Hidden: []int{8}, Latent: 2, Parts: vae.TableParts(schema)}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m.Table = schema
	return m
}

// parquetShard returns n rows of the table of shardCSV as a Parquet file.
func parquetShard(t *testing.T, rng *rand.Rand, first, n int) []byte {
	t.Helper()
	type row struct {
		ID     string  `parquet:"id"`
		Size   float64 `parquet:"size"`
		Colour string  `parquet:"colour"`
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{fmt.Sprintf("r%d", first+i), 1 + rng.NormFloat64(), []string{"red", "green", "blue"}[rng.IntN(3)]}
	}
	var b bytes.Buffer
	w := parquet.NewGenericWriter[row](&b)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// byHand is what vae score --input (or vae encode --input) writes for the
// shard at path: ScoreTable (EncodeTable), the rows that cannot be encoded
// skipped.
func byHand(t *testing.T, m *vae.Model, task, path string, seed uint64) []byte {
	t.Helper()
	r, err := table.Open(path, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	skip := func(vae.BadRow) error { return nil }
	var b bytes.Buffer
	if task == "score" {
		err = m.ScoreTable(context.Background(), r, &b, vae.ScoreOptions{Seed: seed, OnBadRow: skip})
	} else {
		err = m.EncodeTable(context.Background(), r, &b, vae.EncodeOptions{OnBadRow: skip})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The pipeline on Beam's prism runner writes, for every shard (CSV and
// Parquet), the scores vae score writes for it, or the latents of vae
// encode, byte for byte; a malformed row goes to the shard's dead letters
// with its file and line; a rerun replaces the outputs instead of adding to
// them.
func TestPipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	shards := map[string][]byte{}
	for s := range 3 {
		shards[fmt.Sprintf("part-%d.csv", s)] = []byte(shardCSV(rng, 1000*s, 300+50*s))
	}
	// A row whose size is text, on line 4 of part-1.csv.
	lines := strings.SplitAfter(string(shards["part-1.csv"]), "\n")
	lines = slices.Insert(lines, 3, "bad,big,red\n")
	shards["part-1.csv"] = []byte(strings.Join(lines, ""))
	shards["part-3.parquet"] = parquetShard(t, rng, 3000, 200)
	for name, data := range shards {
		if err := os.WriteFile(filepath.Join(in, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := tableModel(t, string(shards["part-0.csv"]))
	model := filepath.Join(dir, "model.safetensors")
	if err := vae.Save(model, m); err != nil {
		t.Fatal(err)
	}
	for _, task := range []string{"score", "encode"} {
		out := filepath.Join(dir, task)
		suffix := map[string]string{"score": vaebeam.ScoresSuffix, "encode": vaebeam.LatentSuffix}[task]
		opts := vaebeam.Options{Task: task, Model: model, Input: filepath.Join(in, "part-*"), Output: out, Seed: 5}
		run := func() {
			t.Helper()
			p, s := beam.NewPipelineWithRoot()
			if _, err := vaebeam.Build(s, opts); err != nil {
				t.Fatal(err)
			}
			if _, err := prism.Execute(context.Background(), p); err != nil {
				t.Fatalf("%s on prism: %v", task, err)
			}
		}
		check := func(round string) {
			t.Helper()
			for name := range shards {
				base := strings.TrimSuffix(name, filepath.Ext(name))
				got, err := os.ReadFile(filepath.Join(out, base+suffix))
				if err != nil {
					t.Fatalf("%s, %s: %v", task, round, err)
				}
				if want := byHand(t, m, task, filepath.Join(in, name), 5); !bytes.Equal(got, want) {
					t.Errorf("%s, %s: %s: the pipeline's output differs from the model's own", task, round, name)
				}
			}
			dead, err := os.ReadFile(filepath.Join(out, "part-1"+vaebeam.DeadSuffix))
			if err != nil {
				t.Fatalf("%s, %s: %v", task, round, err)
			}
			if !strings.Contains(string(dead), filepath.Join(in, "part-1.csv")+",4,") {
				t.Errorf("%s, %s: dead letters %q, want part-1.csv line 4", task, round, dead)
			}
			entries, _ := os.ReadDir(out)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			want := []string{"part-0" + suffix, "part-1.dead.csv", "part-1" + suffix, "part-2" + suffix, "part-3" + suffix}
			if !slices.Equal(names, want) {
				t.Errorf("%s, %s: output folder %v, want %v", task, round, names, want)
			}
		}
		run()
		check("first run")
		run()
		check("rerun")
	}
}

func TestBuildRefuses(t *testing.T) {
	_, s := beam.NewPipelineWithRoot()
	if _, err := vaebeam.Build(s, vaebeam.Options{Task: "train", Model: "m", Input: "i", Output: "o"}); err == nil {
		t.Error("Build accepted task train")
	}
	if _, err := vaebeam.Build(s, vaebeam.Options{Task: "score"}); err == nil {
		t.Error("Build accepted no model, input or output")
	}
}

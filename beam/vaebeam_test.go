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

// scoreShard is what vae score --input writes for a shard: ScoreTable,
// with the rows that cannot be encoded skipped.
func scoreShard(t *testing.T, m *vae.Model, name, csv string, opts vae.ScoreOptions) []byte {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(csv), name, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.OnBadRow = func(vae.BadRow) error { return nil }
	var b bytes.Buffer
	if err := m.ScoreTable(context.Background(), r, &b, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The pipeline on Beam's prism runner writes, for every shard, the scores
// vae score writes for it, byte for byte; a malformed row goes to the
// shard's dead letters with its file and line; a rerun replaces the outputs
// instead of adding to them.
func TestScorePipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.MkdirAll(in, 0o755)
	shards := map[string]string{}
	for s := range 3 {
		shards[fmt.Sprintf("part-%d.csv", s)] = shardCSV(rng, 1000*s, 300+50*s)
	}
	// A row whose size is text, on line 4 of part-1.csv.
	lines := strings.SplitAfter(shards["part-1.csv"], "\n")
	lines = slices.Insert(lines, 3, "bad,big,red\n")
	shards["part-1.csv"] = strings.Join(lines, "")
	for name, csv := range shards {
		if err := os.WriteFile(filepath.Join(in, name), []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := tableModel(t, shards["part-0.csv"])
	model := filepath.Join(dir, "model.safetensors")
	if err := vae.Save(model, m); err != nil {
		t.Fatal(err)
	}
	opts := vaebeam.Options{Task: "score", Model: model, Input: filepath.Join(in, "part-*.csv"), Output: out, Seed: 5}
	run := func() {
		t.Helper()
		p, s := beam.NewPipelineWithRoot()
		if _, err := vaebeam.Build(s, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := prism.Execute(context.Background(), p); err != nil {
			t.Fatalf("prism: %v", err)
		}
	}
	run()
	check := func(round string) {
		t.Helper()
		for name, csv := range shards {
			base := strings.TrimSuffix(name, ".csv")
			got, err := os.ReadFile(filepath.Join(out, base+vaebeam.ScoresSuffix))
			if err != nil {
				t.Fatalf("%s: %v", round, err)
			}
			want := scoreShard(t, m, filepath.Join(in, name), csv, vae.ScoreOptions{Seed: 5})
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %s: the pipeline's scores differ from ScoreTable's", round, name)
			}
		}
		dead, err := os.ReadFile(filepath.Join(out, "part-1"+vaebeam.DeadSuffix))
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		if !strings.Contains(string(dead), filepath.Join(in, "part-1.csv")+",4,") {
			t.Errorf("%s: dead letters %q, want part-1.csv line 4", round, dead)
		}
		entries, _ := os.ReadDir(out)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		want := []string{"part-0.scores.csv", "part-1.dead.csv", "part-1.scores.csv", "part-2.scores.csv"}
		if !slices.Equal(names, want) {
			t.Errorf("%s: output folder %v, want %v", round, names, want)
		}
	}
	check("first run")
	run()
	check("rerun")
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

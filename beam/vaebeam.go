// Package vaebeam scores and encodes the rows of tables with a trained
// model on Apache Beam, for more data than one machine holds: each shard of
// the input (a CSV or Parquet file of a glob) is read with the main
// module's table reader and the model's own preprocessing, scored or
// encoded in batches by the model's methods (ScoreTable, EncodeTable), and
// written to a file of its own name in the output folder. A worker loads
// the model once (Setup), from any path Beam's filesystems read.
//
// A shard's output is exactly what `vae score --input SHARD` (or `vae
// encode`) writes for that shard; a row that cannot be read or encoded goes
// to the shard's dead-letter file with its line instead of failing the job. Outputs are named after their shards and written whole, so
// that a rerun replaces them instead of adding to them.
package vaebeam

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path"
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // paths without a scheme
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

func init() {
	register.DoFn3x1[context.Context, fileio.ReadableFile, func(Shard), error](&shardFn{})
	register.Emitter1[Shard]()
	beam.RegisterType(reflect.TypeOf((*Shard)(nil)).Elem())
}

// Options say what a pipeline does.
type Options struct {
	Task   string // "score" or "encode"
	Model  string // the model file, a path Beam's filesystems read (local, gs://, s3://…)
	Input  string // glob of the input shards, CSV or Parquet
	Output string // folder: scores (or latents) and dead letters go beside each other in it
	Seed   uint64 // seeds ε of the scores, as vae score --seed
	K      int    // if positive, also −log p(x) with K samples, as vae score --k
}

// Shard is what the pipeline did with one input shard.
type Shard struct {
	Input, Output string
	Rows, Dead    int
}

// Suffixes of the output files: SHARD.scores.csv (or SHARD.latent.csv) and
// SHARD.dead.csv, SHARD the input's base name.
const (
	ScoresSuffix = ".scores.csv"
	LatentSuffix = ".latent.csv"
	DeadSuffix   = ".dead.csv"
)

// Build adds the pipeline to s and returns its PCollection of Shards.
func Build(s beam.Scope, o Options) (beam.PCollection, error) {
	switch o.Task {
	case "score", "encode":
	default:
		return beam.PCollection{}, fmt.Errorf("task %q, want score or encode", o.Task)
	}
	if o.Model == "" || o.Input == "" || o.Output == "" {
		return beam.PCollection{}, fmt.Errorf("the model, the input and the output must be given")
	}
	files := fileio.ReadMatches(s, fileio.MatchFiles(s, o.Input), fileio.ReadUncompressed())
	return beam.ParDo(s, &shardFn{Options: o}, files), nil
}

// shardFn scores or encodes one shard per element.
type shardFn struct {
	Options
	m *vae.Model
}

// Setup loads the model, once per worker.
func (f *shardFn) Setup(ctx context.Context) error {
	data, err := readAll(ctx, f.Model)
	if err != nil {
		return err
	}
	if f.m, err = vae.Parse(f.Model, data); err != nil {
		return err
	}
	if f.m.Table == nil {
		return fmt.Errorf("%s: not a table model (vaebeam scores the rows of tables)", f.Model)
	}
	return nil
}

// ProcessElement reads the shard, scores or encodes its rows, and writes
// its output and dead letters.
func (f *shardFn) ProcessElement(ctx context.Context, file fileio.ReadableFile, emit func(Shard)) error {
	in := file.Metadata.Path
	data, err := file.Read(ctx) // a shard fits a worker; Parquet needs random access
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	r, err := table.NewReaderAt(bytes.NewReader(data), int64(len(data)), in, table.Options{})
	if err != nil {
		return err
	}
	defer r.Close()
	base := strings.TrimSuffix(path.Base(in), path.Ext(in))
	sh := Shard{Input: in}
	var out, dead bytes.Buffer
	dw := csv.NewWriter(&dead)
	dw.Write([]string{"file", "line", "error"})
	bad := func(b vae.BadRow) error {
		sh.Dead++
		return dw.Write([]string{b.File, fmt.Sprint(b.Line), b.Err.Error()})
	}
	switch f.Task {
	case "score":
		sh.Output = joinPath(f.Output, base+ScoresSuffix)
		err = f.m.ScoreTable(ctx, r, &out, vae.ScoreOptions{Seed: f.Seed, K: f.K, OnBadRow: bad})
	case "encode":
		sh.Output = joinPath(f.Output, base+LatentSuffix)
		err = f.m.EncodeTable(ctx, r, &out, vae.EncodeOptions{OnBadRow: bad})
	}
	if err != nil {
		return err
	}
	dw.Flush()
	sh.Rows = bytes.Count(out.Bytes(), []byte("\n")) - 1 // less the header
	if err := writeFile(ctx, sh.Output, out.Bytes()); err != nil {
		return err
	}
	if sh.Dead > 0 {
		if err := writeFile(ctx, joinPath(f.Output, base+DeadSuffix), dead.Bytes()); err != nil {
			return err
		}
	}
	rowsCounter.Inc(ctx, int64(sh.Rows))
	deadCounter.Inc(ctx, int64(sh.Dead))
	emit(sh)
	return nil
}

// The pipeline's counters: rows written, rows sent to the dead letters.
var (
	rowsCounter = beam.NewCounter("vaebeam", "rows")
	deadCounter = beam.NewCounter("vaebeam", "dead")
)

// joinPath joins a folder, local or a URL such as gs://bucket/dir, and a
// file name.
func joinPath(dir, name string) string {
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// readAll reads the file at p with Beam's filesystems.
func readAll(ctx context.Context, p string) ([]byte, error) {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// writeFile writes data to p whole: to a temporary name and renamed where
// the filesystem renames (the local one does), so that a reader never sees
// half a file and a rerun replaces it.
func writeFile(ctx context.Context, p string, data []byte) error {
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return err
	}
	defer fs.Close()
	rn, renames := fs.(filesystem.Renamer)
	tmp := p
	if renames {
		tmp = p + ".tmp"
	}
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if renames {
		return rn.Rename(ctx, tmp, p)
	}
	return nil
}

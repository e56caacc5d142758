package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/table"
)

// DataOptions say how a run reads data given by path: a table, an array or
// an image folder. A named data set (mnist, fashion-mnist) ignores them.
type DataOptions struct {
	// Test is the path of the test data, read as the training data is;
	// empty holds out TestFraction of the training data's rows.
	Test string `json:"test,omitempty" yaml:"test,omitempty"`
	// TestFraction is the share of the rows held out as the test set,
	// drawn from the seed, when Test is empty; 0 means 0.1.
	TestFraction float64 `json:"test_fraction,omitempty" yaml:"test_fraction,omitempty"`

	// Tables (CSV, TSV, gzip-compressed or not).
	Header    *bool    `json:"header,omitempty" yaml:"header,omitempty"`       // nil: detected
	Delimiter string   `json:"delimiter,omitempty" yaml:"delimiter,omitempty"` // one character; empty: detected
	Schema    string   `json:"schema,omitempty" yaml:"schema,omitempty"`       // YAML file of column types (table.ReadSchema)
	ID        string   `json:"id,omitempty" yaml:"id,omitempty"`               // column carried to outputs
	Label     string   `json:"label,omitempty" yaml:"label,omitempty"`         // column kept out of the input; colours the map
	Ignore    []string `json:"ignore,omitempty" yaml:"ignore,omitempty"`       // columns left out
	Unknown   string   `json:"unknown,omitempty" yaml:"unknown,omitempty"`     // an unseen category: error (default) or missing

	// Image folders.
	ImageSize string `json:"image_size,omitempty" yaml:"image_size,omitempty"` // HxW to resize to; empty: all images one size
	Channels  int    `json:"channels,omitempty" yaml:"channels,omitempty"`     // 1 or 3; 0: 3 if any image is in colour
	SkipBad   bool   `json:"skip_bad,omitempty" yaml:"skip_bad,omitempty"`     // skip images that do not decode
}

// ErrUnknownData is wrapped by the error for data that is neither a known
// data set's name nor a file or folder that can be read.
var ErrUnknownData = errors.New("unknown data")

// supported lists what --data takes, for errors.
const supported = "mnist, fashion-mnist, or the path of a table (.csv, .tsv, .txt, gzip-compressed or not; .parquet), a NumPy array (.npy, .npz) or an image folder"

// data is what a run learns from.
type data struct {
	train, test *dataset.Set
	src         string        // where it came from
	schema      *table.Schema // a table's, fitted on the training rows; else nil
}

// pathKind returns what the data at path is: "folder", "npy" or "table".
func pathKind(path string) (string, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w %q: no such data set or file (want %s)", ErrUnknownData, path, supported)
	}
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return "folder", nil
	}
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(path)), ".gz")
	switch filepath.Ext(name) {
	case ".npy", ".npz":
		return "npy", nil
	case ".csv", ".tsv", ".tab", ".txt", ".dat", ".parquet":
		return "table", nil
	}
	return "", fmt.Errorf("%w %s: unknown kind of file %q (want %s)", ErrUnknownData, path, filepath.Ext(name), supported)
}

// loadPath reads the training and test data of a spec whose Data is a
// path. A table is encoded with schema, or, when schema is nil, with the
// schema inferred and fitted on its training rows.
func loadPath(ctx context.Context, spec Spec, schema *table.Schema, h Hooks) (*data, error) {
	o := spec.DataOptions
	kind, err := pathKind(spec.Data)
	if err != nil {
		return nil, err
	}
	frac := o.TestFraction
	if frac == 0 {
		frac = 0.1
	}
	if kind == "table" {
		return loadTable(spec, schema, frac)
	}
	read := func(path string) (*dataset.Set, error) {
		if k, err := pathKind(path); err != nil {
			return nil, err
		} else if k != kind {
			return nil, fmt.Errorf("the test data %s is a %s, the training data %s a %s", path, k, spec.Data, kind)
		}
		if kind == "npy" {
			return dataset.LoadNPY(path, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		}
		fo := dataset.FolderOptions{Channels: o.Channels, SkipBad: o.SkipBad, Logger: h.Logger}
		if o.ImageSize != "" {
			if fo.Height, fo.Width, err = ParseImageSize(o.ImageSize); err != nil {
				return nil, err
			}
		}
		s, rep, err := dataset.LoadFolder(ctx, path, fo)
		if err == nil && rep.Skipped > 0 {
			logger(h).Warn("skipped images that do not decode", "folder", path, "skipped", rep.Skipped, "first", rep.Bad[0])
		}
		return s, err
	}
	d := &data{src: spec.Data}
	if d.train, err = read(spec.Data); err != nil {
		return nil, err
	}
	switch o.Test {
	case spec.Data: // a file read as test data only (Open, ReadInput)
		d.test = d.train
	case "":
		d.train, d.test = splitSet(d.train, frac, spec.Train.Seed)
	default:
		if d.test, err = read(o.Test); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// DataName is the name of the data at path: a known data set's name as it
// is, else the file or folder's base name without its extensions
// (breast_cancer for data/breast_cancer.csv.gz).
func DataName(path string) string {
	if dataset.Known(path) {
		return path
	}
	name := strings.TrimSuffix(filepath.Base(filepath.Clean(path)), ".gz")
	return strings.TrimSuffix(name, filepath.Ext(name))
}

// ParseImageSize parses "HxW", e.g. "28x28".
func ParseImageSize(s string) (h, w int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	h, err1 := strconv.Atoi(a)
	w, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || h < 1 || w < 1 || h > 1<<14 || w > 1<<14 {
		return 0, 0, fmt.Errorf("image size %q: want HxW, e.g. 28x28, each 1 to 16384", s)
	}
	return h, w, nil
}

// testRows returns a shuffled order of n rows, from the seed, and how many
// of them, from the end, are held out for testing: a fraction frac, at
// least one and never all.
func testRows(n int, frac float64, seed uint64) (order []int, held int, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, 0, fmt.Errorf("test fraction %v, want a number between 0 and 1", frac)
	}
	if n < 2 {
		return nil, 0, fmt.Errorf("%d rows: too few to hold out a test set (give one with --test)", n)
	}
	order = make([]int, n)
	for i := range order {
		order[i] = i
	}
	dataset.Shuffle(order, rand.New(rand.NewPCG(seed, 5<<32)))
	held = min(n-1, max(1, int(float64(n)*frac+0.5)))
	return order, held, nil
}

// splitSet holds out a fraction frac of s's rows, drawn from the seed, as
// the test set; the training rows keep their order.
func splitSet(s *dataset.Set, frac float64, seed uint64) (train, test *dataset.Set) {
	order, held, err := testRows(s.N, frac, seed)
	if err != nil {
		return s, s.Subset(0)
	}
	tr, te := slices.Sorted(slices.Values(order[:s.N-held])), slices.Sorted(slices.Values(order[s.N-held:]))
	return gatherSet(s, tr, "/train"), gatherSet(s, te, "/test")
}

func gatherSet(s *dataset.Set, idx []int, suffix string) *dataset.Set {
	g := *s
	g.Name, g.N = s.Name+suffix, len(idx)
	g.X = make([]float32, len(idx)*s.Dim)
	s.Gather(g.X, idx)
	g.Labels, g.IDs = nil, nil
	for _, i := range idx {
		if s.Labels != nil {
			g.Labels = append(g.Labels, s.Labels[i])
		}
		if s.IDs != nil {
			g.IDs = append(g.IDs, s.IDs[i])
		}
	}
	return &g
}

// TableOptions returns the options to read the table of a spec's data.
func (o DataOptions) TableOptions() (table.Options, error) {
	t := table.Options{Header: o.Header}
	if o.Delimiter != "" {
		d := []rune(strings.ReplaceAll(o.Delimiter, `\t`, "\t"))
		if len(d) != 1 {
			return t, fmt.Errorf("delimiter %q: want one character", o.Delimiter)
		}
		t.Delimiter = d[0]
	}
	return t, nil
}

// readTable reads all the records of the table at path.
func readTable(path string, o DataOptions) (*table.Rows, error) {
	opts, err := o.TableOptions()
	if err != nil {
		return nil, err
	}
	r, err := table.Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return table.ReadAll(r)
}

// loadTable reads the table of spec, holds out its test rows and encodes
// both parts with schema, inferred and fitted on the training rows when nil.
func loadTable(spec Spec, schema *table.Schema, frac float64) (*data, error) {
	o := spec.DataOptions
	rows, err := readTable(spec.Data, o)
	if err != nil {
		return nil, err
	}
	var testRowsOf *table.Rows
	trainRows := rows
	switch o.Test {
	case spec.Data: // a file read as test data only (Open, ReadInput)
		testRowsOf = rows
	case "":
		order, held, err := testRows(len(rows.Records), frac, spec.Train.Seed)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rows.Name, err)
		}
		n := len(order) - held
		trainRows, testRowsOf = pickRows(rows, slices.Sorted(slices.Values(order[:n]))), pickRows(rows, slices.Sorted(slices.Values(order[n:])))
	default:
		if testRowsOf, err = readTable(o.Test, o); err != nil {
			return nil, err
		}
	}
	if spec.Classes != nil {
		label := o.Label
		if schema != nil {
			label = schema.Label
		} else if label == "" && o.Schema != "" {
			user, err := table.ReadSchema(o.Schema)
			if err != nil {
				return nil, err
			}
			label = user.Label
		}
		if trainRows, err = classRows(trainRows, label, spec.Classes); err != nil {
			return nil, err
		}
	}
	if spec.Limit > 0 && spec.Limit < len(trainRows.Records) {
		trainRows = pickRows(trainRows, seq(spec.Limit))
	}
	if schema == nil {
		if schema, err = InferSchema(trainRows, o); err != nil {
			return nil, err
		}
	}
	name := DataName(spec.Data)
	d := &data{src: spec.Data, schema: schema}
	classes := labelClasses(schema, trainRows, testRowsOf)
	if d.train, err = TableSet(schema, trainRows, name+"/train", classes); err != nil {
		return nil, err
	}
	if d.test, err = TableSet(schema, testRowsOf, name+"/test", classes); err != nil {
		return nil, err
	}
	return d, nil
}

// InferSchema infers and fits the schema of the training rows of a table,
// with the hints of o and of its schema file.
func InferSchema(rows *table.Rows, o DataOptions) (*table.Schema, error) {
	var h table.Hints
	if o.Schema != "" {
		user, err := table.ReadSchema(o.Schema)
		if err != nil {
			return nil, err
		}
		h = user.Hints()
	}
	if o.ID != "" {
		h.ID = o.ID
	}
	if o.Label != "" {
		h.Label = o.Label
	}
	h.Ignore = append(h.Ignore, o.Ignore...)
	if o.Unknown != "" {
		h.Unknown = o.Unknown
	}
	s, err := table.Infer(rows, h)
	if err != nil {
		return nil, err
	}
	if err := s.Fit(rows); err != nil {
		return nil, err
	}
	if s.Width() == 0 {
		return nil, fmt.Errorf("%s: no column left as model input (all ignored, or the id or label)", rows.Name)
	}
	return s, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// pickRows returns the records idx of rows.
func pickRows(rows *table.Rows, idx []int) *table.Rows {
	p := *rows
	p.Records, p.Lines = make([][]string, len(idx)), make([]int, len(idx))
	for k, i := range idx {
		p.Records[k], p.Lines[k] = rows.Records[i], rows.Line(i)
	}
	return &p
}

// labelClasses returns the sorted values of the schema's label column in
// the given rows, or nil without one or with more than 256.
func labelClasses(s *table.Schema, parts ...*table.Rows) []string {
	if s.Label == "" {
		return nil
	}
	seen := map[string]bool{}
	for _, rows := range parts {
		b, err := s.Bind(rows.Columns)
		if err != nil {
			return nil
		}
		b.IsMissing = rows.IsMissing
		for _, r := range rows.Records {
			seen[b.Label(r)] = true
		}
	}
	if len(seen) > 256 {
		return nil
	}
	classes := make([]string, 0, len(seen))
	for c := range seen {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	return classes
}

// TableSet encodes rows with the fitted schema s into a Set named name,
// with the ids of s's id column and, when classes is not nil, labels: the
// index of each row's label among classes.
func TableSet(s *table.Schema, rows *table.Rows, name string, classes []string) (*dataset.Set, error) {
	x, err := s.Encode(rows)
	if err != nil {
		return nil, err
	}
	b, err := s.Bind(rows.Columns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rows.Name, err)
	}
	b.IsMissing = rows.IsMissing
	set := &dataset.Set{Name: name, X: x, N: len(rows.Records), Dim: s.Width()}
	if s.ID != "" {
		set.IDs = make([]string, set.N)
		for i, r := range rows.Records {
			set.IDs[i] = b.ID(r)
		}
	}
	if classes != nil {
		set.Labels, set.Classes, set.ClassNames = make([]uint8, set.N), len(classes), classes
		for i, r := range rows.Records {
			c, _ := slices.BinarySearch(classes, b.Label(r))
			set.Labels[i] = uint8(min(c, len(classes)-1))
		}
	}
	return set, set.Check()
}

// ReadInput reads the array or image folder at path as one Set, for a
// model trained on such data to score, encode or reconstruct. Tables are
// read by the model's own preprocessing instead (vae.Model.ReadTable).
func ReadInput(ctx context.Context, path string, o DataOptions, h Hooks) (*dataset.Set, error) {
	kind, err := pathKind(path)
	if err != nil {
		return nil, err
	}
	if kind == "table" {
		return nil, fmt.Errorf("%s is a table, but the model was not trained on one", path)
	}
	o.Test = path
	d, err := loadPath(ctx, Spec{Data: path, DataOptions: o}, nil, h)
	if err != nil {
		return nil, err
	}
	return d.test, nil
}

package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/run"
	"github.com/govae/vae/table"
	"github.com/govae/vae/vae"
)

// inputFlags are the flags of the commands that read a file of new data
// with --input.
type inputFlags struct {
	path string
	opts run.DataOptions
}

func (in *inputFlags) add(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.StringVar(&in.path, "input", "", what+": a table (.csv, .tsv), an array (.npy, .npz) or an image folder, read with the model's preprocessing")
	f.Var(boolPtr{&in.opts.Header}, "header", "tables: whether the first line names the columns (default: detected)")
	f.Lookup("header").NoOptDefVal = "true"
	f.StringVar(&in.opts.Delimiter, "delimiter", "", `tables: the field delimiter, e.g. ";" or "\t" (default: detected)`)
	f.StringVar(&in.opts.ImageSize, "image-size", "", "image folders: resize every image to HxW")
	f.IntVar(&in.opts.Channels, "channels", 0, "image folders: 1 (gray) or 3 (RGB)")
	f.BoolVar(&in.opts.SkipBad, "skip-bad", false, "image folders: skip images that do not decode, with a count")
	f.StringVar(&in.opts.Unknown, "unknown", "", "tables: a category the model never saw: error (default, or as trained) or missing")
}

// openTable opens the --input table.
func (in *inputFlags) openTable() (*table.Reader, error) {
	opts, err := in.opts.TableOptions()
	if err != nil {
		return nil, usageError{err}
	}
	return table.Open(in.path, opts)
}

// writeTable runs write on the --input table and the output out.
func (in *inputFlags) writeTable(stdout io.Writer, out string, write func(r *table.Reader, w io.Writer) error) error {
	r, err := in.openTable()
	if err != nil {
		return err
	}
	defer r.Close()
	return writeTo(stdout, out, func(w io.Writer) error { return write(r, w) })
}

// load reads the model at path and the examples to work on: the --input
// file's, except for a model of a table, whose input is read as a stream
// by the caller (test is then nil), or else the test set d names.
func (in *inputFlags) load(cmd *cobra.Command, logger *slog.Logger, d *dataFlags, path string) (*vae.Model, *dataset.Set, error) {
	if in.path == "" {
		return d.load(cmd, logger, path)
	}
	op, err := run.Open(cmd.Context(), path, run.OpenOptions{NoData: true, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	if op.Model.Table != nil {
		if in.opts.Unknown != "" {
			if in.opts.Unknown != table.UnknownError && in.opts.Unknown != table.UnknownMissing {
				return nil, nil, usageError{fmt.Errorf("--unknown %q, want error or missing", in.opts.Unknown)}
			}
			op.Model.Table.Unknown = in.opts.Unknown
		}
		return op.Model, nil, nil
	}
	set, err := run.ReadInput(cmd.Context(), in.path, in.opts, run.Hooks{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	if set.Dim != op.Model.Config.Input {
		return nil, nil, fmt.Errorf("%s has %d features per example, the model's input is %d", in.path, set.Dim, op.Model.Config.Input)
	}
	return op.Model, set, nil
}

// exampleHead is the header of the columns that name an example of s in a
// CSV: its index, and its id and label when s has them.
func exampleHead(s *dataset.Set) []string {
	head := []string{"index"}
	if s.IDs != nil {
		head = append(head, "id")
	}
	if s.Labels != nil {
		head = append(head, "label")
	}
	return head
}

// exampleCells are the cells of example i under exampleHead.
func exampleCells(s *dataset.Set, i int) []string {
	row := []string{strconv.Itoa(i)}
	if s.IDs != nil {
		row = append(row, s.IDs[i])
	}
	if s.Labels != nil {
		l := strconv.Itoa(int(s.Labels[i]))
		if s.ClassNames != nil {
			l = s.ClassNames[s.Labels[i]]
		}
		row = append(row, l)
	}
	return row
}

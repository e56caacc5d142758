package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/govae/vae/run"
	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

// TestLoad checks where Load finds the model and its test set, and that a
// test set the spec names but that cannot be had leaves the API working.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	m := tinyModel(t, 2)
	if err := vae.Save(filepath.Join(dir, run.ModelFile), m); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // a data folder without the IDX files
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		spec    bool
		path    string
		opts    server.LoadOptions
		wantErr bool
		data    string
	}{
		{"model file alone", false, filepath.Join(dir, run.ModelFile), server.LoadOptions{}, false, ""},
		{"run folder, data unavailable", true, dir, server.LoadOptions{}, false, "mnist"},
		{"run folder, no data", true, dir, server.LoadOptions{NoData: true}, false, "mnist"},
		{"named data unavailable", false, dir, server.LoadOptions{Data: "mnist", DataDir: empty}, true, ""},
		{"no model", false, filepath.Join(dir, "none.safetensors"), server.LoadOptions{}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(filepath.Join(dir, run.SpecFile))
			if c.spec {
				spec := run.Spec{Data: "mnist", DataDir: empty, Model: m.Config}
				b, _ := json.Marshal(spec)
				if err := os.WriteFile(filepath.Join(dir, run.SpecFile), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c.opts.Logger = slog.New(slog.DiscardHandler)
			opts, err := server.Load(ctx, c.path, c.opts)
			if (err != nil) != c.wantErr {
				t.Fatalf("error %v, want one: %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if opts.Model == nil || opts.Test != nil || opts.Info.Data != c.data || (opts.Info.Spec != nil) != c.spec {
				t.Errorf("options %+v", opts)
			}
			if _, err := server.New(opts); err != nil {
				t.Error(err)
			}
		})
	}
}

package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/govae/vae/server"
)

// serveOptions are the flags of vae serve.
type serveOptions struct {
	addr, token   string
	data, dataDir string
	noData        bool
	maxBatch      int
	maxBody       int64
	drain         time.Duration
}

func newServe(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve MODEL|RUN",
		Short: "Serve a model's HTTP API and the latent-space explorer",
		Long: `Serve a model over HTTP: the JSON API under /v1 (encode, decode,
reconstruct, sample, score, model), /healthz, /metrics, and the latent-space
explorer at /. The explorer maps the test set of the run's spec.json beside
the model, or the one --data names. With --token (or $VAE_TOKEN) every /v1
request must carry "Authorization: Bearer TOKEN". Ctrl-C or SIGTERM lets the
requests under way finish, then exits 0.`,
		Example: `  vae serve runs/mnist-512-2                    # http://127.0.0.1:8080/
  vae serve --addr :8080 --token s3cret runs/mnist-512-2/model.safetensors
  curl -s -X POST -d '{"n":1,"seed":7}' http://127.0.0.1:8080/v1/sample`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if o.maxBatch < 1 || o.maxBody < 1 {
				return usageError{fmt.Errorf("--max-batch %d and --max-body %d, want ≥ 1", o.maxBatch, o.maxBody)}
			}
			if o.token == "" {
				o.token = os.Getenv("VAE_TOKEN")
			}
			opts, err := server.Load(cmd.Context(), a[0], server.LoadOptions{
				Data: o.data, DataDir: o.dataDir, NoData: o.noData, Logger: logger, Download: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			opts.Token, opts.MaxBatch, opts.MaxBodyBytes = o.token, o.maxBatch, o.maxBody
			h, err := server.New(opts)
			if err != nil {
				return err
			}
			return server.ListenAndServe(cmd.Context(), o.addr, h, o.drain, func(addr net.Addr) {
				fmt.Fprintf(stdout, "serving %s on http://%s/\n", opts.Info.Path, addr)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.token, "token", "", "bearer token required on /v1/* (default $VAE_TOKEN; empty: none)")
	f.StringVar(&o.data, "data", "", "test set of the explorer's map: mnist or fashion-mnist (default: the run's)")
	f.StringVar(&o.dataDir, "data-dir", "", "folder with the IDX files (default $VAE_DATA, else the cache, else download)")
	f.BoolVar(&o.noData, "no-data", false, "serve the API without loading a test set (no map)")
	f.IntVar(&o.maxBatch, "max-batch", server.DefaultMaxBatch, "most rows, images or samples in one request")
	f.Int64Var(&o.maxBody, "max-body", server.DefaultMaxBodyBytes, "most bytes in one request body")
	f.DurationVar(&o.drain, "drain", 30*time.Second, "on Ctrl-C or SIGTERM, how long requests under way may take to finish")
	return cmd
}

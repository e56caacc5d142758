package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/govae/vae/server"
)

// serveOptions are the flags of vae serve.
type serveOptions struct {
	addr, token   string
	allowHosts    []string
	data, dataDir string
	noData        bool
	maxBatch      int
	maxBody       int64
	maxPixels     int64
	maxK          int
	maxSamples    int
	drain         time.Duration
}

// What vae serve does on a signal, replaced by its tests.
var (
	// notifyStop relays SIGINT and SIGTERM to c until the returned function
	// is called.
	notifyStop = func(c chan<- os.Signal) (stop func()) {
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		return func() { signal.Stop(c) }
	}
	// exitNow ends the program at once.
	exitNow = os.Exit
	// serveHandler wraps the server's handler.
	serveHandler = func(h http.Handler) http.Handler { return h }
)

func newServe(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve MODEL|RUN",
		Short: "Serve a model's HTTP API and the latent-space explorer",
		Long: `Serve a model over HTTP: the JSON API under /v1 (encode, decode,
reconstruct, sample, score, model), /healthz, /metrics, and the latent-space
explorer at /. The explorer maps the test set of the run's spec.json beside
the model, or the one --data names. A model trained on a table takes its
rows as JSON objects ({"rows": [{"column": value…}…]}) or as a CSV body
(Content-Type: text/csv), and answers decoded rows besides the encoded values;
its map is coloured by the run's label column. With --token (or $VAE_TOKEN) every /v1
request must carry "Authorization: Bearer TOKEN". Requests must name the
server by a loopback name (localhost, 127.0.0.1, [::1]) or one given with
--allow-host, and the /v1 endpoints answer only the explorer, not other web
pages. Ctrl-C or SIGTERM lets the requests under way finish (for at most
--drain), then exits 0; a second Ctrl-C exits at once with status 1.`,
		Example: `  vae serve runs/mnist-512-2                    # http://127.0.0.1:8080/
  vae serve --addr :8080 --allow-host vae.example --token s3cret runs/mnist-512-2/model.safetensors
  curl -s --json '{"n":1,"seed":7}' http://127.0.0.1:8080/v1/sample
  curl -s -H 'Content-Type: text/csv' --data-binary @rows.csv http://127.0.0.1:8080/v1/score   # a table model`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if o.maxBatch < 1 || o.maxBody < 1 || o.maxPixels < 1 || o.maxK < 1 || o.maxSamples < 1 {
				return usageError{fmt.Errorf("--max-batch %d, --max-body %d, --max-pixels %d, --max-k %d and --max-samples %d, want ≥ 1",
					o.maxBatch, o.maxBody, o.maxPixels, o.maxK, o.maxSamples)}
			}
			if o.token == "" {
				o.token = os.Getenv("VAE_TOKEN")
			}
			ctx := cmd.Context()
			stopSignals := forceExitOnSecondSignal(logger)
			defer stopSignals()
			opts, err := server.Load(ctx, a[0], server.LoadOptions{
				Data: o.data, DataDir: o.dataDir, NoData: o.noData, Logger: logger, Download: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			opts.Token, opts.AllowedHosts = o.token, o.allowHosts
			opts.MaxBatch, opts.MaxBodyBytes, opts.MaxPixels = o.maxBatch, o.maxBody, o.maxPixels
			opts.MaxK, opts.MaxNLLSamples = o.maxK, o.maxSamples
			h, err := server.New(opts)
			if err != nil {
				return err
			}
			err = server.ListenAndServe(ctx, o.addr, serveHandler(h), o.drain, func(addr net.Addr) {
				fmt.Fprintf(stdout, "serving %s on http://%s/\n", opts.Info.Path, addr)
			})
			if errors.Is(err, server.ErrCutOff) {
				// Stopping was asked for and done; the requests that
				// outlasted --drain are what it costs.
				logger.Warn("stopped: requests under way were cut off after --drain", "drain", o.drain)
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	f.StringVar(&o.token, "token", "", "bearer token required on /v1/* (default $VAE_TOKEN; empty: none)")
	f.StringArrayVar(&o.allowHosts, "allow-host", nil, "a name the server may be reached by besides localhost, 127.0.0.1 and [::1] (repeat for more; * for any)")
	f.StringVar(&o.data, "data", "", "test set of the explorer's map: mnist, fashion-mnist or a file (default: the run's)")
	f.StringVar(&o.dataDir, "data-dir", "", "folder with the IDX files (default $VAE_DATA, else the cache, else download)")
	f.BoolVar(&o.noData, "no-data", false, "serve the API without loading a test set (no map)")
	f.IntVar(&o.maxBatch, "max-batch", server.DefaultMaxBatch, "most rows, images or samples in one request")
	f.Int64Var(&o.maxBody, "max-body", server.DefaultMaxBodyBytes, "most bytes in one request body")
	f.Int64Var(&o.maxPixels, "max-pixels", server.DefaultMaxPixels, "most pixels in the PNG images of one request")
	f.IntVar(&o.maxK, "max-k", server.DefaultMaxK, "most importance samples per input of /v1/score")
	f.IntVar(&o.maxSamples, "max-samples", server.DefaultMaxNLLSamples, "most importance samples in one /v1/score request (k times the inputs)")
	f.DurationVar(&o.drain, "drain", 30*time.Second, "on Ctrl-C or SIGTERM, how long requests under way may take to finish")
	return cmd
}

// forceExitOnSecondSignal exits at once, with status 1, on the second
// SIGINT or SIGTERM: the first, which also ends the command's context (see
// main), asks the server to drain, the second not to wait. It returns a function that stops
// listening.
func forceExitOnSecondSignal(logger *slog.Logger) (stop func()) {
	sigs := make(chan os.Signal, 2)
	stopNotify := notifyStop(sigs)
	done := make(chan struct{})
	go func() {
		seen := 0
		for {
			select {
			case <-done:
				return
			case <-sigs:
				if seen++; seen == 1 {
					logger.Info("stopping: letting the requests under way finish; Ctrl-C again to exit at once")
					continue
				}
				logger.Warn("second signal: exiting without waiting for the requests under way")
				exitNow(1)
				return
			}
		}
	}()
	return func() {
		stopNotify()
		close(done)
	}
}

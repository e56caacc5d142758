// Command vae trains variational autoencoders on MNIST-like data, evaluates
// them and draws what they learned.
//
// Exit status: 0 on success, 1 on failure (one line on stderr says why),
// 2 on bad usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/govae/vae/budget"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError marks an error in how the command was called: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// execute runs the command line args and returns the exit status.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "vae:", err)
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "vae",
		Short:         "Train variational autoencoders and look at what they learned",
		SilenceErrors: true,
		SilenceUsage:  true,
		Example: `  vae train                         # the seed's VAE on MNIST, pictures in runs/mnist-512-2
  vae eval runs/mnist-512-2/model.safetensors`,
		Version: version(),
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	var maxMemory string
	root.PersistentFlags().StringVar(&maxMemory, "max-memory", "",
		"memory one computation may ask for, e.g. 16GiB (default $"+budget.EnvVar+", else a quarter of the machine)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		limit := int64(0) // the default
		if maxMemory != "" {
			var err error
			if limit, err = budget.ParseSize(maxMemory); err != nil || limit == 0 {
				return usageError{fmt.Errorf("--max-memory %q: want a size such as 16GiB", maxMemory)}
			}
		}
		budget.SetLimit(limit)
		return nil
	}
	root.CompletionOptions.DisableDefaultCmd = true
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	root.AddCommand(
		newTrain(stdout, stderr, logger),
		newEval(stdout, stderr, logger),
		newScore(stdout, stderr, logger),
		newSample(stdout, logger),
		newReconstruct(stdout, logger),
		newEncode(stdout, logger),
		newImpute(stdout, logger),
		newThreshold(stdout, logger),
		newPlot(stdout, logger),
		newExport(stdout, logger),
		newBench(stdout, logger),
		newServe(stdout, logger),
	)
	return root
}

// version returns the module version the binary was built from, or the
// commit of a build from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && (v == "" || v == "(devel)") {
			v = "devel " + s.Value
		}
	}
	return v + " " + info.GoVersion
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

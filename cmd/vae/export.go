package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/govae/vae/onnx"
	"github.com/govae/vae/run"
)

func newExport(stdout io.Writer, logger *slog.Logger) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export MODEL|RUN",
		Short: "Write a model's encoder and decoder as ONNX graphs",
		Long: fmt.Sprintf(`Write the model's encoder (x → z_mean, z_log_var) and decoder (z → the means of
p(x|z)) as %s and %s in the folder --out, ONNX opset %d, for ONNX Runtime
and the other runtimes of ONNX: dense, convolutional and conditional models
(whose graphs take each row's class as a second input, "class"), and table
models, whose graphs take and give encoded rows; for those %s too, the
preprocessing of the cells (one input per column) to the encoder's rows.`, onnx.EncoderFile, onnx.DecoderFile, onnx.Opset, onnx.PreprocessFile),
		Example: "  vae export --format onnx --out onnx/ runs/mnist-512-2",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if format != "onnx" {
				return usageError{fmt.Errorf("--format %q, want onnx", format)}
			}
			op, err := run.Open(cmd.Context(), a[0], run.OpenOptions{NoData: true, Logger: logger})
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := onnx.Write(out, op.Model); err != nil {
				return err
			}
			fmt.Fprintln(stdout, filepath.Join(out, onnx.EncoderFile))
			fmt.Fprintln(stdout, filepath.Join(out, onnx.DecoderFile))
			if op.Model.Table != nil {
				fmt.Fprintln(stdout, filepath.Join(out, onnx.PreprocessFile))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "onnx", "format: onnx")
	cmd.Flags().StringVarP(&out, "out", "o", "onnx", "folder to write the graphs into")
	return cmd
}

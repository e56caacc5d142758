// Command vaebeam scores or encodes the rows of sharded tables with a
// trained model on Apache Beam (see package vaebeam):
//
//	vaebeam score --model M --input 'data/part-*.csv' --output out/ [--seed 1] [--k 0] [--runner prism]
//	vaebeam encode --model M --input 'data/part-*.parquet' --output out/
//
// The runner flags are Beam's: --runner prism (the default: in-process,
// for one machine), or flink, spark (a portable job server at
// --endpoint) and dataflow (--project, --region, --staging_location);
// see the README.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs" // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"  // s3:// paths
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	vaebeam "github.com/govae/vae/beam"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "score" && os.Args[1] != "encode") {
		fmt.Fprintln(os.Stderr, "usage: vaebeam score|encode --model MODEL --input GLOB --output DIR [--seed S] [--k K] [Beam's runner flags]")
		os.Exit(2)
	}
	o := vaebeam.Options{Task: os.Args[1]}
	flag.StringVar(&o.Model, "model", "", "the model file (a path Beam's filesystems read: local, gs://, s3://)")
	flag.StringVar(&o.Input, "input", "", "glob of the input shards, CSV or Parquet")
	flag.StringVar(&o.Output, "output", "", "folder for the outputs and dead letters")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of ε, as vae score --seed")
	flag.IntVar(&o.K, "k", 0, "also −log p(x) with K importance samples, as vae score --k")
	if err := flag.CommandLine.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	if _, err := vaebeam.Build(s, o); err != nil {
		fmt.Fprintln(os.Stderr, "vaebeam:", err)
		os.Exit(2)
	}
	if err := beamx.Run(context.Background(), p); err != nil {
		log.Fatalf("vaebeam: %v", err)
	}
}

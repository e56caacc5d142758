package kernel

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The committed assembly is what internal/asmgen generates: edit the
// generator, then run go generate ./kernel.
func TestGeneratedAssembly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generator with go run")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	s, g := filepath.Join(dir, "sgemm_amd64.s"), filepath.Join(dir, "sgemm_amd64_gen.go")
	if out, err := exec.Command(goTool, "run", "./internal/asmgen", "-s", s, "-go", g).CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/asmgen: %v\n%s", err, out)
	}
	for _, f := range []string{s, g} {
		want, err := os.ReadFile(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what internal/asmgen generates: run go generate ./kernel", filepath.Base(f))
		}
	}
}

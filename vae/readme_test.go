package vae

import (
	"os"
	"strings"
	"testing"
)

// The README's library example is the body of Example_mnist, which go test
// runs, so that it compiles and works as shown.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## The library\n")
	_, block, ok2 := strings.Cut(after, "```go\n")
	block, _, ok3 := strings.Cut(block, "```\n")
	_, body, ok4 := strings.Cut(string(src), "func Example_mnist() {\n")
	body, _, ok5 := strings.Cut(body, "\t// Output:")
	if !ok || !ok2 || !ok3 || !ok4 || !ok5 {
		t.Fatal("README.md has no Go block under \"## The library\", or example_test.go no Example_mnist")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	if want := strings.Join(lines, "\n") + "\n"; block != want {
		t.Errorf("README.md's library example differs from Example_mnist's body:\n%s\nwant:\n%s", block, want)
	}
}

package dataset

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// idxBytes returns an uncompressed IDX file of the given shape and data.
func idxBytes(t testing.TB, dims []int, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDX(&buf, &IDX{Dims: dims, Data: data}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipBytes compresses b.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeZeroIDXGz writes a gzipped IDX file of the given shape, all zeros,
// to path without holding its content in memory: a file of a few KB that
// really holds what its header declares.
func writeZeroIDXGz(t testing.TB, path string, dims ...int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	hdr := []byte{0, 0, idxUint8, byte(len(dims))}
	n := 1
	for _, d := range dims {
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
		n *= d
	}
	zw.Write(hdr)
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k, err := zw.Write(zeros[:min(n, len(zeros))])
		if err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sha256Hex returns the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tinySet is a generated MNIST-like data set: 5 training and 3 test images
// of 2x3 pixels with labels, as the uncompressed contents of the four files
// in the order of fileNames.
func tinySet(t testing.TB) [4][]byte {
	t.Helper()
	pixels := func(n, seed int) []byte {
		b := make([]byte, n*2*3)
		for i := range b {
			b[i] = byte((i*37 + seed) % 256)
		}
		return b
	}
	return [4][]byte{
		idxBytes(t, tinyDims[0], pixels(5, 1)),
		idxBytes(t, tinyDims[1], []byte{0, 1, 2, 3, 9}),
		idxBytes(t, tinyDims[2], pixels(3, 2)),
		idxBytes(t, tinyDims[3], []byte{7, 8, 9}),
	}
}

// tinyDims holds the dimensions of the files of tinySet.
var tinyDims = [4][]int{{5, 2, 3}, {5}, {3, 2, 3}, {3}}

// writeTinyDir writes the files of tinySet into a new folder, gzipped or
// not, and returns the folder.
func writeTinyDir(t testing.TB, gzipped bool) string {
	t.Helper()
	dir := t.TempDir()
	for i, content := range tinySet(t) {
		name := fileNames[i]
		if gzipped {
			name += ".gz"
			content = gzipBytes(t, content)
		}
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// registerTiny makes Open know tinySet as "tiny", with no mirrors and no
// fallback, for the duration of the test.
func registerTiny(t testing.TB) {
	t.Helper()
	var sums [4]string
	for i, content := range tinySet(t) {
		sums[i] = sha256Hex(content)
	}
	sources["tiny"] = &source{sha256: sums, dims: tinyDims, classes: 10, hint: "pass --data-dir DIR"}
	t.Cleanup(func() { delete(sources, "tiny") })
}

// testLogger returns a logger that writes to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// closedURL returns an http URL on a local port nothing listens on.
func closedURL(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// entries returns the names in dir.
func entries(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

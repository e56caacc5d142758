package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/govae/vae/budget"
)

// IDX file limits. They bound what a header may declare, so that a corrupt
// or hostile file is rejected before anything is allocated for it.
const (
	maxIDXDims  = 4       // MNIST-style files use 1 (labels) or 3 (images)
	maxIDXBytes = 1 << 30 // the largest data part accepted
	// maxIDXFileBytes is the length of the largest IDX file accepted.
	maxIDXFileBytes = 4 + 4*maxIDXDims + maxIDXBytes
)

// idxUint8 is the IDX type byte for unsigned bytes, the only type supported.
const idxUint8 = 0x08

// IDX is the content of an IDX file, the format MNIST and Fashion-MNIST are
// published in: an array of unsigned bytes with its dimensions.
type IDX struct {
	Dims []int  // size of each dimension, outermost first
	Data []byte // the elements in row-major order; len(Data) is the product of Dims
}

// ReadIDX reads an IDX file from r. The input may be gzip-compressed; that is
// recognized by its leading bytes. Only the unsigned-byte element type (0x08)
// is supported, with 1 to 4 dimensions and at most 1 GiB of data. The input
// must end where the data the header describes ends.
//
// A header that declares more data than the memory budget allows (see
// package budget) is refused before anything is allocated for the data, and
// the buffer for the data grows with what arrives rather than with what the
// header declares.
func ReadIDX(r io.Reader) (*IDX, error) {
	src, _, err := content(r, nil, -1)
	if err != nil {
		return nil, err
	}
	x, err := readIDXHeader(src)
	if err != nil {
		return nil, err
	}
	if err := budget.Check("IDX data of "+dimsString(x.dims)+" bytes", int64(x.n)); err != nil {
		return nil, err
	}
	return x.read()
}

// ReadIDXFile reads the IDX file at path, gzip-compressed or not, as ReadIDX
// does. Errors name the file. The data is read into a buffer of the length
// the header declares, once that is known to fit the memory budget.
func ReadIDXFile(path string) (*IDX, error) {
	x, err := openIDX(path, nil)
	if err != nil {
		return nil, err
	}
	defer x.close()
	if err := x.checkBudget(); err != nil {
		return nil, err
	}
	return x.read()
}

// idxFile is an IDX file opened for reading: its header has been read, its
// data not yet, so that what the header claims can be weighed before
// anything is allocated for it.
type idxFile struct {
	path string
	f    *os.File
	r    io.Reader // the decompressed content after the header
	size int64     // a bound on the length of the data, or -1; see readData
	dims []int     // as the header declares them
	n    int       // the bytes of data the header declares: the product of dims
}

// openIDX opens the IDX file at path and reads its header. If h is not nil,
// it receives the decompressed content, the header included, as it is read.
// Errors name the file.
func openIDX(path string, h io.Writer) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	src, size, err := content(f, h, size)
	if err == nil {
		var x *idxFile
		if x, err = readIDXHeader(src); err == nil {
			x.path, x.f, x.size = path, f, size
			return x, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("%s: %w", path, err)
}

// read reads the data of x and closes its file. Errors name the file, if
// there is one.
func (x *idxFile) read() (*IDX, error) {
	defer x.close()
	data, err := readData(x.r, x.n, x.size)
	if err != nil && x.path != "" {
		return nil, fmt.Errorf("%s: %w", x.path, err)
	}
	if err != nil {
		return nil, err
	}
	return &IDX{Dims: x.dims, Data: data}, nil
}

// close closes the file of x; it may be called more than once.
func (x *idxFile) close() {
	if x != nil && x.f != nil {
		x.f.Close()
		x.f = nil
	}
}

// checkBudget checks the data x declares against the memory budget.
func (x *idxFile) checkBudget() error {
	return budget.Check(fmt.Sprintf("%s: IDX data of %s bytes", x.path, dimsString(x.dims)), int64(x.n))
}

// dimsString writes dims as the product it is: "60000×28×28".
func dimsString(dims []int) string {
	var b strings.Builder
	for i, d := range dims {
		if i > 0 {
			b.WriteString("×")
		}
		b.WriteString(strconv.Itoa(d))
	}
	return b.String()
}

// content returns a reader of the decompressed content of r, which also
// writes what it reads to h when h is not nil, and a bound on the length of
// that content from size, the length of r if it is not negative.
func content(r io.Reader, h io.Writer, size int64) (io.Reader, int64, error) {
	src, err := decompress(r)
	if err != nil {
		return nil, 0, err
	}
	if _, gzipped := src.(gzipReader); gzipped && size >= 0 {
		size = budget.Mul(size, maxDeflateRatio)
	}
	if h != nil {
		src = io.TeeReader(src, h)
	}
	return src, size, nil
}

// maxDeflateRatio bounds how much larger than its compressed form content
// can be.
const maxDeflateRatio = 1032

// decompress returns a reader of the content of r: r itself, or a gzip
// reader when r starts with the gzip magic bytes.
func decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read gzip header: %w", err)
		}
		return gzipReader{zr}, nil
	}
	return br, nil
}

// gzipReader marks the errors of a gzip stream as such.
type gzipReader struct{ zr *gzip.Reader }

func (g gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decompress: %w", err)
	}
	return n, err
}

// readIDXHeader reads the header of an uncompressed IDX file from r and
// returns an idxFile that holds what it declares and reads the data from r.
func readIDXHeader(r io.Reader) (*idxFile, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, headerError(err)
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: magic bytes %#02x %#02x, want 0x00 0x00", hdr[0], hdr[1])
	}
	if hdr[2] != idxUint8 {
		return nil, fmt.Errorf("unsupported IDX element type %#02x: only 0x08 (unsigned byte) is supported", hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > maxIDXDims {
		return nil, fmt.Errorf("IDX header declares %d dimensions, want 1 to %d", nd, maxIDXDims)
	}
	var raw [4 * maxIDXDims]byte
	if _, err := io.ReadFull(r, raw[:4*nd]); err != nil {
		return nil, headerError(err)
	}
	dims := make([]int, nd)
	n := uint64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(raw[4*i:])
		if d == 0 {
			return nil, fmt.Errorf("IDX dimension %d is 0", i)
		}
		n *= uint64(d) // at most 2^30 * (2^32-1): no overflow
		if n > maxIDXBytes {
			return nil, fmt.Errorf("IDX dimensions declare at least %d bytes of data, more than the limit of %d", n, maxIDXBytes)
		}
		dims[i] = int(d)
	}
	return &idxFile{r: r, size: -1, dims: dims, n: int(n)}, nil
}

// headerError describes a failure to read the IDX header.
func headerError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated IDX header")
	}
	return fmt.Errorf("read IDX header: %w", err)
}

// readData reads exactly n bytes and then expects the end of r, whose length
// is at most size bytes if size is not negative. The buffer grows with what
// actually arrives, so a header that overstates the length of a short input
// costs no more memory than the input.
func readData(r io.Reader, n int, size int64) ([]byte, error) {
	data := make([]byte, min(int64(n), max(64<<10, size)))
	got := 0
	for got < n {
		if got == len(data) {
			grown := make([]byte, min(2*len(data), n))
			copy(grown, data)
			data = grown
		}
		k, err := r.Read(data[got:])
		got += k
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if got < n {
				return nil, fmt.Errorf("truncated: want %d bytes of data, got %d", n, got)
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read IDX data: %w", err)
		}
	}
	// Reading on to the end also makes a gzip reader verify its checksum.
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	switch {
	case k > 0:
		return nil, fmt.Errorf("trailing data after the %d bytes of data the header describes", n)
	case err != io.EOF:
		return nil, fmt.Errorf("read IDX data: %w", err)
	}
	return data, nil
}

// WriteIDX writes m to w as an uncompressed IDX file of unsigned bytes.
func WriteIDX(w io.Writer, m *IDX) error {
	if len(m.Dims) < 1 || len(m.Dims) > maxIDXDims {
		return fmt.Errorf("write IDX: %d dimensions, want 1 to %d", len(m.Dims), maxIDXDims)
	}
	hdr := []byte{0, 0, idxUint8, byte(len(m.Dims))}
	n := 1
	for i, d := range m.Dims {
		if d <= 0 {
			return fmt.Errorf("write IDX: dimension %d is %d", i, d)
		}
		if n > maxIDXBytes/d {
			return fmt.Errorf("write IDX: dimensions %v exceed %d bytes of data", m.Dims, maxIDXBytes)
		}
		n *= d
		hdr = binary.BigEndian.AppendUint32(hdr, uint32(d))
	}
	if n != len(m.Data) {
		return fmt.Errorf("write IDX: dimensions %v need %d bytes of data, have %d", m.Dims, n, len(m.Data))
	}
	if _, err := w.Write(hdr); err != nil {
		return fmt.Errorf("write IDX: %w", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		return fmt.Errorf("write IDX: %w", err)
	}
	return nil
}

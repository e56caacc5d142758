package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// IDX file limits. They bound what a header may declare, so that a corrupt
// or hostile file is rejected before anything is allocated for it.
const (
	maxIDXDims  = 4       // MNIST-style files use 1 (labels) or 3 (images)
	maxIDXBytes = 1 << 30 // the largest data part accepted
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
func ReadIDX(r io.Reader) (*IDX, error) {
	return readIDX(r, nil, -1)
}

// ReadIDXFile reads the IDX file at path, gzip-compressed or not, as ReadIDX
// does. Errors name the file.
func ReadIDXFile(path string) (*IDX, error) {
	return readIDXFile(path, nil)
}

// readIDXFile is ReadIDXFile that also writes the decompressed content to h
// when h is not nil.
func readIDXFile(path string, h hash.Hash) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	m, err := readIDX(f, h, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// readIDX is ReadIDX that also writes the decompressed content to h when h is
// not nil. If size is not negative, it is the length of r, which lets the
// data be read into a buffer of the right size at once.
func readIDX(r io.Reader, h io.Writer, size int64) (*IDX, error) {
	src, err := decompress(r)
	if err != nil {
		return nil, err
	}
	if _, gzipped := src.(gzipReader); gzipped && size >= 0 {
		size *= maxDeflateRatio
	}
	if h != nil {
		src = io.TeeReader(src, h)
	}
	return parseIDX(src, size)
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

// parseIDX reads an uncompressed IDX file of at most size bytes, or of
// unknown length if size is negative.
func parseIDX(r io.Reader, size int64) (*IDX, error) {
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
	raw := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, raw); err != nil {
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
	data, err := readData(r, int(n), size)
	if err != nil {
		return nil, err
	}
	return &IDX{Dims: dims, Data: data}, nil
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

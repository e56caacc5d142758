package dataset

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/govae/vae/budget"
)

// NPY is an array read from a NumPy .npy file.
type NPY struct {
	Shape []int     // as the header declares it, outermost first
	DType string    // the dtype as the header writes it, e.g. "<f4"
	Data  []float32 // the elements in C (row-major) order, converted as ReadNPY says
}

// .npy file limits. They bound what a header may declare, so that a corrupt
// or hostile file is rejected before anything is allocated for it.
const (
	maxNPYHeader = 1 << 16 // bytes of header dict; numpy writes about a hundred
	maxNPYDims   = 32      // numpy's own limit before NumPy 2
	maxNPYDepth  = 8       // nesting of tuples and lists in the header
	npyChunk     = 64 << 10
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// npySupported lists the dtypes ReadNPY reads, for errors.
const npySupported = "float16/32/64 (<f2 <f4 <f8), int8/16/32/64 (|i1 <i2 <i4 <i8), " +
	"uint8/16/32/64 (|u1 <u2 <u4 <u8), bool (|b1); > for big-endian"

// ReadNPY reads an array in NumPy's .npy format (format versions 1.0, 2.0
// and 3.0) from r; name is used in errors. The input may be
// gzip-compressed (a .npy.gz), which is recognized by its leading bytes,
// and must end where the data the header describes ends.
//
// The dtypes read are float16, float32 and float64, signed and unsigned
// integers of 1, 2, 4 and 8 bytes, and bool, in either byte order; any
// other (complex, strings, objects, structured dtypes) is an error. Every
// element becomes a float32:
//   - floats as they are, rounded to float32; NaN and ±Inf are kept, for
//     the caller to decide on;
//   - integers as they are, rounded to float32 (exact up to 2^24), except
//   - uint8, which is taken as pixels: value/255, in [0, 1];
//   - bool as 0 or 1.
//
// An array stored in Fortran order is transposed, so that Data is always
// in C order. A shape of () or one holding a 0 is an error (empty).
//
// A header that declares more data than the memory budget allows (see
// package budget) is refused before anything is allocated for the data,
// and the buffer for the data grows with what arrives rather than with
// what the header declares.
func ReadNPY(r io.Reader, name string) (*NPY, error) {
	src, bound, err := content(r, nil, -1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a, err := readNPYHeader(src, name, bound)
	if err != nil {
		return nil, err
	}
	p := a.plan(nil)
	if err := budget.Check(a.what(), p.cost()); err != nil {
		return nil, err
	}
	data, err := a.read(p, false)
	if err != nil {
		return nil, err
	}
	return &NPY{Shape: a.shape, DType: a.descr, Data: data}, nil
}

// LoadNPY reads a data set from the file at path: a .npy file (perhaps
// gzip-compressed), or a .npz archive of .npy files as numpy.savez and
// numpy.savez_compressed write them. The Set is called name; errors name
// the file, and the member of an archive.
//
// The first dimension of the array counts the examples: a shape of (N,)
// gives N examples of one feature, (N, d1, d2, …) N examples of d1·d2·…
// features in C order. Values are converted as ReadNPY says (uint8 pixels
// to [0, 1]). Some shapes are taken as images:
//   - (N, H, W): gray images of H rows and W columns;
//   - (N, H, W, C) with C 1 or 3: channels-last images, rearranged into the
//     Set's layout of the channels one after the other (C, H, W);
//   - (N, C, H, W) with C 1 or 3 and W neither 1 nor 3: kept as they are.
//
// In a .npz archive, the features are the member named x, X, data, images
// or arr_0 (the first of these there is), or the only member, and the
// labels the member named y, labels, targets or arr_1 if there is one: an
// integer array of shape (N,) or (N, 1) of values 0 to 255. Classes is the
// largest label plus one.
//
// The headers are read first: a set whose data would need more memory than
// the budget allows (see package budget) is refused before anything is
// allocated for it.
func LoadNPY(path, name string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); size >= 0 && n == len(magic) && isZipMagic(magic[:]) {
		return loadNPZ(f, size, path, name)
	}
	src, bound, err := content(f, nil, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x, err := readNPYHeader(src, path, bound)
	if err != nil {
		return nil, err
	}
	return npySet(name, x, nil)
}

// isZipMagic reports whether b starts a zip archive: a local file header,
// or the end record of an empty archive.
func isZipMagic(b []byte) bool {
	s := string(b)
	return strings.HasPrefix(s, "PK\x03\x04") || strings.HasPrefix(s, "PK\x05\x06")
}

// Member names of a .npz archive, without ".npy", by preference.
var (
	npzFeatures = []string{"x", "X", "data", "images", "arr_0"}
	npzLabels   = []string{"y", "labels", "targets", "arr_1"}
)

// loadNPZ reads a data set from the .npz archive f of size bytes at path.
func loadNPZ(f io.ReaderAt, size int64, path, name string) (*Set, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: read .npz (zip) archive: %w", path, err)
	}
	members := map[string]*zip.File{}
	var keys []string
	for _, zf := range zr.File {
		if key, ok := strings.CutSuffix(zf.Name, ".npy"); ok && !zf.FileInfo().IsDir() {
			if _, dup := members[key]; !dup {
				keys = append(keys, key)
			}
			members[key] = zf
		}
	}
	pick := func(names []string) *zip.File {
		for _, n := range names {
			if zf := members[n]; zf != nil {
				return zf
			}
		}
		return nil
	}
	xf, yf := pick(npzFeatures), pick(npzLabels)
	if xf == nil && len(keys) == 1 {
		xf = members[keys[0]]
	}
	if xf == nil {
		found := "none"
		if len(keys) > 0 {
			found = strings.Join(keys, ", ")
		}
		return nil, fmt.Errorf("%s: no features in the .npz archive: want an array named %s (or a single array), found %s",
			path, strings.Join(npzFeatures, ", "), found)
	}
	x, err := openNPZMember(path, xf)
	if err != nil {
		return nil, err
	}
	defer x.close()
	var y *npyArray
	if yf != nil && yf != xf {
		if y, err = openNPZMember(path, yf); err != nil {
			return nil, err
		}
		defer y.close()
	}
	return npySet(name, x, y)
}

// openNPZMember opens the member zf of the archive at path and reads its
// header. Errors name the archive and the member.
func openNPZMember(path string, zf *zip.File) (*npyArray, error) {
	what := path + ":" + zf.Name
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	bound := int64(-1)
	if zf.UncompressedSize64 <= math.MaxInt64 {
		bound = int64(zf.UncompressedSize64) // the zip reader holds the member to it
	}
	a, err := readNPYHeader(rc, what, bound)
	if err != nil {
		rc.Close()
		return nil, err
	}
	a.closer = rc
	return a, nil
}

// npySet builds the Set called name from the features x and, unless y is
// nil, the labels y, whose headers have been read.
func npySet(name string, x, y *npyArray) (*Set, error) {
	n := x.shape[0]
	rows, cols, channels, strides := npyImage(x.shape)
	xp := x.plan(strides)
	cost, what := xp.cost(), x.what()
	if y != nil {
		switch {
		case y.kind != 'i' && y.kind != 'u':
			return nil, fmt.Errorf("%s: labels must be integers, got dtype %q", y.name, y.descr)
		case len(y.shape) > 2 || len(y.shape) == 2 && y.shape[1] != 1:
			return nil, fmt.Errorf("%s: labels must have shape (N,) or (N, 1), got %s", y.name, shapeString(y.shape))
		case y.shape[0] != n:
			return nil, fmt.Errorf("%s holds %d labels but %s holds %d examples", y.name, y.shape[0], x.name, n)
		}
		cost = budget.Add(cost, y.plan(nil).cost(), int64(y.count))
		what += " and " + y.what()
	}
	if err := budget.Check(what, cost); err != nil {
		return nil, err
	}
	data, err := x.read(xp, false)
	if err != nil {
		return nil, err
	}
	s := &Set{Name: name, X: data, N: n, Dim: x.count / n, Rows: rows, Cols: cols, Channels: channels}
	if y != nil {
		vals, err := y.read(y.plan(nil), true)
		if err != nil {
			return nil, err
		}
		labels := make([]uint8, len(vals))
		for i, v := range vals {
			if !(v >= 0 && v <= 255) {
				return nil, fmt.Errorf("%s: label %d is %g, outside 0..255", y.name, i, v)
			}
			labels[i] = uint8(v)
			s.Classes = max(s.Classes, int(labels[i])+1)
		}
		s.Labels = labels
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

// npyImage returns the image shape that an array of the given shape holds,
// all 0 if it holds none, and the strides of the Set's row layout for each
// axis of the array if it must be rearranged to it, else nil.
func npyImage(shape []int) (rows, cols, channels int, strides []int) {
	switch {
	case len(shape) == 3:
		return shape[1], shape[2], 0, nil
	case len(shape) == 4 && (shape[3] == 1 || shape[3] == 3):
		h, w, c := shape[1], shape[2], shape[3]
		return h, w, c, []int{c * h * w, w, 1, h * w}
	case len(shape) == 4 && (shape[1] == 1 || shape[1] == 3):
		return shape[2], shape[3], shape[1], nil
	}
	return 0, 0, 0, nil
}

// npyArray is an array of a .npy file opened for reading: its header has
// been read, its data not yet.
type npyArray struct {
	name    string           // of the file, for errors
	r       io.Reader        // the content after the header
	closer  io.Closer        // closes r, or nil
	bound   int64            // a bound on the length of the data, or -1
	descr   string           // the dtype as the header writes it
	kind    byte             // 'f', 'i', 'u' or 'b'
	size    int              // bytes per element
	order   binary.ByteOrder // of multi-byte elements
	fortran bool             // the data is in Fortran order
	shape   []int            // as the header declares it, not empty, no 0
	count   int              // the number of elements: the product of shape
}

// close closes the reader of a, if it has one.
func (a *npyArray) close() {
	if a.closer != nil {
		a.closer.Close()
		a.closer = nil
	}
}

// what describes reading a, for the memory budget.
func (a *npyArray) what() string {
	return fmt.Sprintf("%s: .npy array of %s %s as float32", a.name, dimsString(a.shape), a.descr)
}

// readNPYHeader reads the header of an uncompressed .npy file called name
// from r, whose length is at most bound bytes if bound is not negative.
// Errors name the file.
func readNPYHeader(r io.Reader, name string, bound int64) (*npyArray, error) {
	var pre [12]byte // magic, version and the length of the header
	n, err := io.ReadFull(r, pre[:8])
	if n == 0 && err == io.EOF {
		return nil, fmt.Errorf("%s: empty, not a .npy file", name)
	}
	if !strings.HasPrefix(npyMagic, string(pre[:min(n, len(npyMagic))])) {
		return nil, notNPYError(name, pre[:n])
	}
	if err != nil {
		return nil, npyHeaderError(name, err)
	}
	major, minor := pre[6], pre[7]
	lenBytes := 4
	switch {
	case major == 1 && minor == 0:
		lenBytes = 2
	case (major == 2 || major == 3) && minor == 0:
	default:
		return nil, fmt.Errorf("%s: unsupported .npy format version %d.%d, want 1.0, 2.0 or 3.0", name, major, minor)
	}
	if _, err := io.ReadFull(r, pre[8:8+lenBytes]); err != nil {
		return nil, npyHeaderError(name, err)
	}
	hlen := int64(binary.LittleEndian.Uint32(pre[8:12]))
	if hlen > maxNPYHeader {
		return nil, fmt.Errorf("%s: .npy header length is %d bytes, over the limit of %d", name, hlen, maxNPYHeader)
	}
	hdr := make([]byte, hlen)
	if k, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated .npy header: the header length is %d bytes, found %d", name, hlen, k)
		}
		return nil, npyHeaderError(name, err)
	}
	a, err := parseNPYHeader(string(hdr))
	if err != nil {
		return nil, fmt.Errorf("%s: .npy header %s: %w", name, quoteHeader(hdr), err)
	}
	a.name, a.r, a.bound = name, r, -1
	if bound >= 0 {
		a.bound = max(0, bound-int64(8+lenBytes)-hlen)
	}
	return a, nil
}

// notNPYError describes a file that does not start with the .npy magic.
func notNPYError(name string, start []byte) error {
	hint := ""
	if isZipMagic(start) {
		hint = " (it is a zip archive: a .npz file?)"
	}
	return fmt.Errorf("%s: not a .npy file: it starts with %q, want %q%s", name, start, npyMagic, hint)
}

// npyHeaderError describes a failure to read the start of a .npy header.
func npyHeaderError(name string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: truncated .npy header", name)
	}
	return fmt.Errorf("%s: read .npy header: %w", name, err)
}

// quoteHeader quotes a header for an error, shortened if long.
func quoteHeader(h []byte) string {
	const most = 120
	s := strings.TrimRight(string(h), " \n")
	if len(s) > most {
		return strconv.Quote(s[:most]) + "…"
	}
	return strconv.Quote(s)
}

// shapeString writes a shape as Python writes the tuple: "(5,)", "(5, 3)".
func shapeString(shape []int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// parseNPYHeader parses the dict of a .npy header: exactly the keys descr,
// fortran_order and shape, as a Python literal.
func parseNPYHeader(h string) (*npyArray, error) {
	fields, err := parsePyDict(h)
	if err != nil {
		return nil, err
	}
	for _, key := range []string{"descr", "fortran_order", "shape"} {
		if _, ok := fields[key]; !ok {
			return nil, fmt.Errorf("missing key '%s'", key)
		}
	}
	if len(fields) != 3 {
		for key := range fields {
			if key != "descr" && key != "fortran_order" && key != "shape" {
				return nil, fmt.Errorf("unexpected key %q: want only 'descr', 'fortran_order' and 'shape'", key)
			}
		}
	}
	a := &npyArray{}
	switch d := fields["descr"].(type) {
	case string:
		if err := a.setDType(d); err != nil {
			return nil, err
		}
	case pyList:
		return nil, fmt.Errorf("structured dtypes are not supported: want one of %s", npySupported)
	default:
		return nil, fmt.Errorf("'descr' is %s, want a string such as '<f4'", pyKind(d))
	}
	switch f := fields["fortran_order"].(type) {
	case pyName:
		if f != "True" && f != "False" {
			return nil, fmt.Errorf("'fortran_order' is %s, want True or False", f)
		}
		a.fortran = f == "True"
	default:
		return nil, fmt.Errorf("'fortran_order' is %s, want True or False", pyKind(f))
	}
	t, ok := fields["shape"].(pyTuple)
	if !ok {
		return nil, fmt.Errorf("'shape' is %s, want a tuple of sizes", pyKind(fields["shape"]))
	}
	if len(t) > maxNPYDims {
		return nil, fmt.Errorf("'shape' has %d dimensions, more than the limit of %d", len(t), maxNPYDims)
	}
	a.shape = make([]int, len(t))
	for i, v := range t {
		s, ok := v.(pyInt)
		if !ok {
			return nil, fmt.Errorf("dimension %d of 'shape' is %s, want an integer", i, pyKind(v))
		}
		d, err := strconv.ParseInt(string(s), 10, 64)
		switch {
		case err != nil || d > math.MaxInt:
			return nil, fmt.Errorf("dimension %d of 'shape' is %s, too large", i, s)
		case d < 0:
			return nil, fmt.Errorf("dimension %d of 'shape' is %d, negative", i, d)
		}
		a.shape[i] = int(d)
	}
	switch {
	case len(a.shape) == 0:
		return nil, errors.New("empty: shape () holds a single value, not examples")
	case slices.Contains(a.shape, 0):
		return nil, fmt.Errorf("empty: shape %s holds no values", shapeString(a.shape))
	}
	count := int64(1)
	for _, d := range a.shape {
		count = budget.Mul(count, int64(d))
	}
	if count == math.MaxInt64 || count > math.MaxInt {
		return nil, fmt.Errorf("shape %s declares more elements than can be counted", shapeString(a.shape))
	}
	a.count = int(count)
	return a, nil
}

// setDType sets the element type of a from a dtype string such as '<f4'.
func (a *npyArray) setDType(d string) error {
	unsupported := func() error {
		return fmt.Errorf("unsupported dtype %q: want one of %s", d, npySupported)
	}
	if len(d) < 3 {
		return unsupported()
	}
	size, err := strconv.Atoi(d[2:])
	if err != nil || d[2] < '0' || d[2] > '9' {
		return unsupported()
	}
	switch k := d[1]; {
	case k == 'f' && (size == 2 || size == 4 || size == 8),
		(k == 'i' || k == 'u') && (size == 1 || size == 2 || size == 4 || size == 8),
		k == 'b' && size == 1:
	default:
		return unsupported()
	}
	switch o := d[0]; {
	case o == '<':
		a.order = binary.LittleEndian
	case o == '>':
		a.order = binary.BigEndian
	case o == '|' && size == 1:
		a.order = binary.LittleEndian
	default:
		return unsupported()
	}
	a.descr, a.kind, a.size = d, d[1], size
	return nil
}

// npyPlan says where each element of an array goes as it is read: the
// sizes of the axes in the order of the file (fastest first) and the step
// in the output of each. contiguous reports that elements go one after the
// other.
type npyPlan struct {
	count            int
	dims, steps      []int
	contiguous       bool
	elemBytes, chunk int
}

// plan plans the reading of a into the layout that has strides for its
// axes (outermost first), or C order if strides is nil.
func (a *npyArray) plan(strides []int) npyPlan {
	if strides == nil {
		strides = make([]int, len(a.shape))
		step := 1
		for i := len(a.shape) - 1; i >= 0; i-- {
			strides[i] = step
			step *= a.shape[i]
		}
	}
	nd := len(a.shape)
	p := npyPlan{count: a.count, dims: make([]int, nd), steps: make([]int, nd), contiguous: true, elemBytes: a.size}
	want := 1
	for k := range nd {
		ax := nd - 1 - k // C order: the last axis is the fastest
		if a.fortran {
			ax = k
		}
		p.dims[k], p.steps[k] = a.shape[ax], strides[ax]
		if p.dims[k] > 1 && p.steps[k] != want {
			p.contiguous = false
		}
		want *= p.dims[k]
	}
	p.chunk = max(1, npyChunk/a.size) * a.size
	return p
}

// cost is the memory reading by p takes: the float32s, twice if they must
// be rearranged, and a buffer.
func (p npyPlan) cost() int64 {
	copies := int64(1)
	if !p.contiguous {
		copies = 2
	}
	return budget.Add(budget.Mul(int64(p.count), 4, copies), int64(p.chunk))
}

// read reads the data of a as p plans, and closes the reader of a. Values
// are converted as ReadNPY says, except that uint8 values are kept as they
// are if raw is set. Errors name the file.
func (a *npyArray) read(p npyPlan, raw bool) ([]float32, error) {
	defer a.close()
	decode := a.decoder(raw)
	want := budget.Mul(int64(a.count), int64(a.size))
	buf := make([]byte, min(int64(p.chunk), want))
	// The values grow with what arrives, from what the length of the
	// input allows if that is known.
	initial := int64(npyChunk)
	if a.bound >= 0 {
		initial = max(initial, a.bound/int64(a.size))
	}
	vals := make([]float32, 0, min(int64(a.count), initial))
	var got int64
	for got < want {
		k, err := io.ReadFull(a.r, buf[:min(int64(len(buf)), want-got)])
		got += int64(k)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated data: shape %s of %s needs %d bytes after the header, found %d",
				a.name, shapeString(a.shape), a.descr, want, got)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read .npy data: %w", a.name, err)
		}
		m := k / a.size
		if len(vals)+m > cap(vals) {
			grown := make([]float32, len(vals), min(a.count, max(2*cap(vals), len(vals)+m)))
			copy(grown, vals)
			vals = grown
		}
		vals = vals[:len(vals)+m]
		decode(vals[len(vals)-m:], buf[:k])
	}
	// Reading on to the end also makes a gzip or zip reader verify its
	// checksum.
	var one [1]byte
	switch k, err := io.ReadFull(a.r, one[:]); {
	case k > 0:
		return nil, fmt.Errorf("%s: trailing data after the %d bytes of data the header describes", a.name, want)
	case err != io.EOF:
		return nil, fmt.Errorf("%s: read .npy data: %w", a.name, err)
	}
	return p.place(vals), nil
}

// place returns vals, which are in the order of the file, in the layout p
// plans.
func (p npyPlan) place(vals []float32) []float32 {
	if p.contiguous {
		return vals
	}
	dst := make([]float32, len(vals))
	idx := make([]int, len(p.dims))
	off := 0
	for _, v := range vals {
		dst[off] = v
		for k, d := range p.dims {
			idx[k]++
			off += p.steps[k]
			if idx[k] < d {
				break
			}
			off -= p.steps[k] * d
			idx[k] = 0
		}
	}
	return dst
}

// decoder returns a function that converts the elements of a in src into
// dst, one float32 each, as ReadNPY says; uint8 values are kept as they
// are if raw is set.
func (a *npyArray) decoder(raw bool) func(dst []float32, src []byte) {
	o := a.order
	switch int(a.kind)<<4 | a.size {
	case 'f'<<4 | 2:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = halfToFloat32(o.Uint16(src[2*i:]))
			}
		}
	case 'f'<<4 | 4:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(o.Uint32(src[4*i:]))
			}
		}
	case 'f'<<4 | 8:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(o.Uint64(src[8*i:])))
			}
		}
	case 'i'<<4 | 1:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(int8(src[i]))
			}
		}
	case 'i'<<4 | 2:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(int16(o.Uint16(src[2*i:])))
			}
		}
	case 'i'<<4 | 4:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(int32(o.Uint32(src[4*i:])))
			}
		}
	case 'i'<<4 | 8:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(int64(o.Uint64(src[8*i:])))
			}
		}
	case 'u'<<4 | 1:
		var table [256]float32
		for b := range table {
			table[b] = float32(b)
			if !raw {
				table[b] /= 255
			}
		}
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = table[src[i]]
			}
		}
	case 'u'<<4 | 2:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(o.Uint16(src[2*i:]))
			}
		}
	case 'u'<<4 | 4:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(o.Uint32(src[4*i:]))
			}
		}
	case 'u'<<4 | 8:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(o.Uint64(src[8*i:]))
			}
		}
	case 'b'<<4 | 1:
		return func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = 0
				if src[i] != 0 {
					dst[i] = 1
				}
			}
		}
	}
	panic("dataset: decoder for unchecked dtype " + a.descr)
}

// halfToFloat32 converts an IEEE 754 half-precision float to float32.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0: // zero or subnormal: mant·2^−24
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Values of the Python literals of a .npy header: a string is a Go string.
type (
	pyTuple []any
	pyList  []any
	pyInt   string // decimal, with an optional sign
	pyName  string // True, False or None
)

// pyKind names the kind of a header value, for errors.
func pyKind(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case pyInt:
		return string(v)
	case pyName:
		return string(v)
	case pyTuple:
		return "a tuple"
	case pyList:
		return "a list"
	}
	return "missing"
}

// pyParser parses the Python literals of a .npy header.
type pyParser struct {
	s string
	i int
}

// parsePyDict parses s, a Python dict literal with string keys and
// trailing white space.
func parsePyDict(s string) (map[string]any, error) {
	p := &pyParser{s: s}
	p.space()
	if !p.eat('{') {
		return nil, errors.New("not a dict: want '{' first")
	}
	fields := map[string]any{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		k, err := p.value(0)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dict key %s at offset %d is not a string", pyKind(k), p.i)
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		p.space()
		if !p.eat(':') {
			return nil, p.unexpected("':' after key " + strconv.Quote(key))
		}
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		fields[key] = v
		p.space()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return nil, p.unexpected("',' or '}'")
		}
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.unexpected("the end of the header after the dict")
	}
	return fields, nil
}

// space skips white space.
func (p *pyParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\n\r\f\v", p.s[p.i]) >= 0 {
		p.i++
	}
}

// eat consumes c if it comes next.
func (p *pyParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// unexpected describes what comes next where want was expected.
func (p *pyParser) unexpected(want string) error {
	if p.i >= len(p.s) {
		return fmt.Errorf("unexpected end of the header, want %s", want)
	}
	return fmt.Errorf("unexpected %q at offset %d, want %s", p.s[p.i], p.i, want)
}

// value parses a string, an integer, a name, or a tuple or list of values
// nested at most maxNPYDepth deep.
func (p *pyParser) value(depth int) (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, p.unexpected("a value")
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		return p.str()
	case c == '(' || c == '[':
		if depth >= maxNPYDepth {
			return nil, fmt.Errorf("values nested more than %d deep", maxNPYDepth)
		}
		return p.seq(depth)
	case c == '-' || c == '+' || '0' <= c && c <= '9':
		start := p.i
		p.i++
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
		}
		num := p.s[start:p.i]
		if num == "-" || num == "+" {
			p.i = start
			return nil, p.unexpected("a value")
		}
		if p.i < len(p.s) && (p.s[p.i] == 'L' || p.s[p.i] == 'l') {
			p.i++ // Python 2 wrote long integers so
		}
		return pyInt(num), nil
	case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] == '_' || 'a' <= p.s[p.i] && p.s[p.i] <= 'z' ||
			'A' <= p.s[p.i] && p.s[p.i] <= 'Z' || '0' <= p.s[p.i] && p.s[p.i] <= '9') {
			p.i++
		}
		switch name := p.s[start:p.i]; name {
		case "True", "False", "None":
			return pyName(name), nil
		default:
			p.i = start
			return nil, fmt.Errorf("unexpected name %q at offset %d, want a literal", name, start)
		}
	}
	return nil, p.unexpected("a value")
}

// str parses a quoted string with the escapes \\, \' and \".
func (p *pyParser) str() (string, error) {
	q := p.s[p.i]
	start := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == q:
			return b.String(), nil
		case c == '\n':
			return "", fmt.Errorf("string at offset %d runs past the end of the line", start)
		case c == '\\':
			if p.i >= len(p.s) || strings.IndexByte(`\'"`, p.s[p.i]) < 0 {
				return "", fmt.Errorf("unsupported escape in the string at offset %d", start)
			}
			c = p.s[p.i]
			p.i++
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("unterminated string at offset %d", start)
}

// seq parses a tuple or a list. As in Python, a single value in
// parentheses without a comma is that value.
func (p *pyParser) seq(depth int) (any, error) {
	open := p.s[p.i]
	end := byte(')')
	if open == '[' {
		end = ']'
	}
	p.i++
	var items []any
	comma := false
	for {
		p.space()
		if p.eat(end) {
			break
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.space()
		if p.eat(end) {
			break
		}
		if !p.eat(',') {
			return nil, p.unexpected(fmt.Sprintf("',' or '%c'", end))
		}
		comma = true
	}
	switch {
	case open == '[':
		return pyList(items), nil
	case len(items) == 1 && !comma:
		return items[0], nil
	}
	return pyTuple(items), nil
}

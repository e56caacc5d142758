// Package safetensors reads and writes float32 tensors in the safetensors
// format of Hugging Face, the format PyTorch's safetensors.torch.save_file
// and load_file use.
//
// A file is an 8-byte little-endian unsigned length N, then N bytes of
// UTF-8 JSON, then the tensor data. The JSON is an object mapping each
// tensor's name to its dtype, shape and byte range in the data:
//
//	{"__metadata__":{"epoch":"3"},"enc.b":{"dtype":"F32","shape":[400],"data_offsets":[0,1600]},...}
//
// The optional "__metadata__" object maps strings to strings. Offsets count
// from the first byte after the header; the tensors' ranges cover the data
// from its start to its end without holes or overlaps. Tensors are stored
// little-endian and row-major. The header may be padded with spaces, and
// Write pads it so that the data starts at a multiple of 8 bytes.
//
// Only the F32 dtype is supported. Read is strict: it rejects anything the
// format does not allow, and never allocates much more than the size of its
// input, whatever the header claims.
package safetensors

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode"
)

// MaxHeaderSize is the largest JSON header Read accepts, in bytes, the
// limit of the reference implementation.
const MaxHeaderSize = 100_000_000

// metadataKey is the header key that holds the metadata, not a tensor.
const metadataKey = "__metadata__"

// Tensor is a named float32 tensor.
type Tensor struct {
	Name  string
	Shape []int     // nil or empty for a scalar
	Data  []float32 // row-major; len(Data) is the product of Shape
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the header's "__metadata__" object, nil if it has none.
	Metadata map[string]string
	// Tensors holds the tensors in the order of their data in the file, which
	// for a file made by Write is the order of their names.
	Tensors []Tensor

	index map[string]int // name -> position in Tensors; nil: search
}

// Tensor returns the tensor called name, and whether there is one.
func (f *File) Tensor(name string) (Tensor, bool) {
	if f.index != nil {
		i, ok := f.index[name]
		if !ok {
			return Tensor{}, false
		}
		return f.Tensors[i], true
	}
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Tensor{}, false
}

// Get returns the data of the tensor called name, which must have the
// given shape (none for a scalar). The slice is the File's, not a copy.
func (f *File) Get(name string, shape ...int) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("safetensors: tensor %s not found", quoteName(name))
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("safetensors: tensor %s: shape %v, want %v", quoteName(name), fmtShape(t.Shape), fmtShape(shape))
	}
	return t.Data, nil
}

// A FormatError reports why a file is not a valid safetensors file of
// float32 tensors.
type FormatError struct {
	Tensor string // the tensor at fault; "" if the fault is not one tensor's
	Msg    string // what is wrong
	Err    error  // the underlying error, if any (io.ErrUnexpectedEOF for truncated files)
}

func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.Tensor != "" {
		s += "tensor " + quoteName(e.Tensor) + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// numElems returns the product of shape, or an error if a dimension is
// negative or the product overflows an int or the bytes of a float32 tensor
// overflow an int64.
func numElems(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, fmtShape(shape))
		}
		if d != 0 && n > math.MaxInt64/4/d {
			return 0, fmt.Errorf("shape %v too large", fmtShape(shape))
		}
		n *= d
	}
	return n, nil
}

// fmtShape formats a shape as [] rather than a nil slice's [].
func fmtShape(shape []int) string {
	if len(shape) == 0 {
		return "[]"
	}
	return fmt.Sprint(shape)
}

// quoteName returns name as it is if it is printable and has no spaces or
// colons, which covers the usual "enc.0.weight", and quoted otherwise.
func quoteName(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == ':' || r == '"' {
			return strconv.Quote(name)
		}
	}
	return name
}

package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"
)

// dtypes lists the safetensors dtypes other than F32, to tell an
// unsupported dtype from a misspelt one.
var dtypes = map[string]bool{
	"BOOL": true, "U8": true, "I8": true, "F8_E5M2": true, "F8_E4M3": true,
	"F8_E8M0": true, "I16": true, "U16": true, "F16": true, "BF16": true,
	"I32": true, "U32": true, "F64": true, "I64": true, "U64": true,
	"F4": true, "F6_E2M3": true, "F6_E3M2": true, "C64": true,
}

// entry is a tensor as the header describes it.
type entry struct {
	name       string
	shape      []int
	begin, end int64
}

// Read reads a safetensors file of float32 tensors from r, which it reads to
// the end.
//
// It returns a *FormatError, naming the tensor at fault where there is one,
// if the header is longer than MaxHeaderSize or than the input, is not a
// JSON object of valid UTF-8, has a metadata value that is not a string, or
// describes a tensor with a dtype other than F32, a negative dimension, a
// byte range that does not match its shape or lies past the end of the
// input, or ranges that leave holes or overlap; and if data follows the last
// tensor. Errors reading r are returned wrapped.
func Read(r io.Reader) (*File, error) {
	var prefix [8]byte
	if n, err := io.ReadFull(r, prefix[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FormatError{Msg: fmt.Sprintf("file of %d bytes too short for the 8-byte header length", n), Err: io.ErrUnexpectedEOF}
		}
		return nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	size := binary.LittleEndian.Uint64(prefix[:])
	if size > MaxHeaderSize {
		return nil, &FormatError{Msg: fmt.Sprintf("header length %d exceeds the limit of %d", size, MaxHeaderSize)}
	}
	// Read the header into a buffer that grows with the bytes actually
	// there, not with the length claimed.
	var header bytes.Buffer
	if n, err := io.CopyN(&header, r, int64(size)); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FormatError{Msg: fmt.Sprintf("header length %d exceeds the %d bytes that follow it", size, n), Err: io.ErrUnexpectedEOF}
		}
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	f, entries, err := parseHeader(header.Bytes())
	if err != nil {
		return nil, err
	}
	if err := checkLayout(entries); err != nil {
		return nil, err
	}

	f.Tensors = make([]Tensor, len(entries))
	f.index = make(map[string]int, len(entries))
	scratch := make([]byte, 32<<10)
	for i, e := range entries {
		data, err := readFloats(r, int((e.end-e.begin)/4), scratch)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, &FormatError{Tensor: e.name, Msg: fmt.Sprintf("data_offsets [%d %d] run past the end of the data", e.begin, e.end), Err: io.ErrUnexpectedEOF}
			}
			return nil, fmt.Errorf("safetensors: reading tensor %s: %w", quoteName(e.name), err)
		}
		f.Tensors[i] = Tensor{Name: e.name, Shape: e.shape, Data: data}
		f.index[e.name] = i
	}
	var end int64
	if len(entries) > 0 {
		end = entries[len(entries)-1].end
	}
	switch _, err := io.ReadFull(r, scratch[:1]); {
	case err == nil:
		return nil, &FormatError{Msg: fmt.Sprintf("data goes on past the end of the last tensor at byte %d", end)}
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("safetensors: reading data: %w", err)
	}
	return f, nil
}

// readFloats reads n little-endian float32s from r through scratch. The
// result grows with the data read, so a claimed n costs nothing until the
// data is there; its capacity ends up exactly n.
func readFloats(r io.Reader, n int, scratch []byte) ([]float32, error) {
	chunk := len(scratch) / 4
	data := make([]float32, 0, min(n, chunk))
	for len(data) < n {
		k := min(n-len(data), chunk)
		if cap(data)-len(data) < k {
			grown := make([]float32, len(data), min(n, max(2*cap(data), len(data)+k)))
			copy(grown, data)
			data = grown
		}
		if _, err := io.ReadFull(r, scratch[:4*k]); err != nil {
			return nil, err
		}
		for i := range k {
			data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(scratch[4*i:])))
		}
	}
	return data, nil
}

// parseHeader parses the JSON header into the metadata and the tensors'
// entries, in header order, checking each entry on its own.
func parseHeader(header []byte) (*File, []entry, error) {
	if !utf8.Valid(header) {
		return nil, nil, &FormatError{Msg: "header is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	syntax := func(err error) error {
		return &FormatError{Msg: "invalid JSON header", Err: err}
	}
	if tok, err := dec.Token(); err != nil {
		return nil, nil, syntax(err)
	} else if tok != json.Delim('{') {
		return nil, nil, &FormatError{Msg: fmt.Sprintf("header is not a JSON object: starts with %v", tok)}
	}
	f := &File{}
	var entries []entry
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, syntax(err)
		}
		name := tok.(string) // object keys are strings
		if seen[name] {
			if name == metadataKey {
				return nil, nil, &FormatError{Msg: metadataKey + " appears twice"}
			}
			return nil, nil, &FormatError{Tensor: name, Msg: "appears twice in the header"}
		}
		seen[name] = true
		if name == metadataKey {
			if f.Metadata, err = parseMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseEntry(dec, name)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, syntax(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, syntax(err)
		}
		return nil, nil, &FormatError{Msg: fmt.Sprintf("header has %v after its JSON object", tok)}
	}
	return f, entries, nil
}

// parseMetadata parses the value of "__metadata__": null or an object of
// strings.
func parseMetadata(dec *json.Decoder) (map[string]string, error) {
	bad := func(msg string, err error) error {
		return &FormatError{Msg: metadataKey + ": " + msg, Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("invalid JSON", err)
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('{') {
		return nil, bad(fmt.Sprintf("got %v, want an object of strings", tok), nil)
	}
	md := make(map[string]string)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("invalid JSON", err)
		}
		key := tok.(string)
		if _, dup := md[key]; dup {
			return nil, bad(fmt.Sprintf("key %s appears twice", quoteName(key)), nil)
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, bad("invalid JSON", err)
		}
		v, ok := tok.(string)
		if !ok {
			return nil, bad(fmt.Sprintf("value of %s is %v, want a string", quoteName(key), tok), nil)
		}
		md[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("invalid JSON", err)
	}
	return md, nil
}

// parseEntry parses the description of tensor name and checks its fields
// against each other.
func parseEntry(dec *json.Decoder, name string) (entry, error) {
	bad := func(msg string, err error) error {
		return &FormatError{Tensor: name, Msg: msg, Err: err}
	}
	if tok, err := dec.Token(); err != nil {
		return entry{}, bad("invalid JSON", err)
	} else if tok != json.Delim('{') {
		return entry{}, bad(fmt.Sprintf("got %v, want an object with dtype, shape and data_offsets", tok), nil)
	}
	var (
		dtype   *string
		shape   *[]int64
		offsets *[]int64
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return entry{}, bad("invalid JSON", err)
		}
		switch key := tok.(string); key {
		case "dtype":
			err = decodeField(dec, key, &dtype)
		case "shape":
			err = decodeField(dec, key, &shape)
		case "data_offsets":
			err = decodeField(dec, key, &offsets)
		default:
			err = fmt.Errorf("unknown field %s", quoteName(key))
		}
		if err != nil {
			return entry{}, bad(err.Error(), nil)
		}
	}
	if _, err := dec.Token(); err != nil {
		return entry{}, bad("invalid JSON", err)
	}
	switch {
	case dtype == nil:
		return entry{}, bad("missing dtype", nil)
	case shape == nil:
		return entry{}, bad("missing shape", nil)
	case offsets == nil:
		return entry{}, bad("missing data_offsets", nil)
	}

	if *dtype != "F32" {
		if dtypes[*dtype] {
			return entry{}, bad(fmt.Sprintf("dtype %s not supported, want F32", *dtype), nil)
		}
		return entry{}, bad(fmt.Sprintf("unknown dtype %q, want F32", *dtype), nil)
	}
	e := entry{name: name, shape: make([]int, len(*shape))}
	for i, d := range *shape {
		if int64(int(d)) != d {
			return entry{}, bad(fmt.Sprintf("dimension %d in shape %v too large", d, *shape), nil)
		}
		e.shape[i] = int(d)
	}
	n, err := numElems(e.shape)
	if err != nil {
		return entry{}, bad(err.Error(), nil)
	}
	if len(*offsets) != 2 {
		return entry{}, bad(fmt.Sprintf("data_offsets %v, want [begin end]", *offsets), nil)
	}
	e.begin, e.end = (*offsets)[0], (*offsets)[1]
	if e.begin < 0 || e.end < e.begin {
		return entry{}, bad(fmt.Sprintf("data_offsets [%d %d], want 0 <= begin <= end", e.begin, e.end), nil)
	}
	if int64(n)*4 != e.end-e.begin {
		return entry{}, bad(fmt.Sprintf("shape %v needs %d bytes, data_offsets [%d %d] hold %d", fmtShape(e.shape), int64(n)*4, e.begin, e.end, e.end-e.begin), nil)
	}
	return e, nil
}

// decodeField decodes the value of the field key into *dst, which must not
// be set yet and must not become null.
func decodeField[T any](dec *json.Decoder, key string, dst **T) error {
	if *dst != nil {
		return fmt.Errorf("field %s appears twice", key)
	}
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("field %s: %v", key, err)
	}
	if *dst == nil {
		return fmt.Errorf("field %s is null", key)
	}
	return nil
}

// checkLayout sorts entries by their data and checks that they cover the
// data from 0 without holes or overlaps.
func checkLayout(entries []entry) error {
	slices.SortStableFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	var pos int64
	for i, e := range entries {
		switch {
		case e.begin > pos:
			return &FormatError{Tensor: e.name, Msg: fmt.Sprintf("hole in the data: bytes [%d %d) before its data_offsets [%d %d] belong to no tensor", pos, e.begin, e.begin, e.end)}
		case e.begin < pos:
			return &FormatError{Tensor: e.name, Msg: fmt.Sprintf("data_offsets [%d %d] overlap those of tensor %s, which end at %d", e.begin, e.end, quoteName(entries[i-1].name), pos)}
		}
		pos = e.end
	}
	return nil
}

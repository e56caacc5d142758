package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Write writes tensors and metadata (which may be nil) to w as a
// safetensors file. The output depends only on the arguments: the tensors
// are sorted by name, in the header and in the data, as the Python library
// does; metadata keys are sorted; the header is padded with spaces to a
// multiple of 8 bytes. The order of tensors is left unchanged.
//
// Write returns an error, before writing anything, if a tensor's name is
// repeated, is "__metadata__" or is not valid UTF-8, if its shape has a
// negative dimension or if len(Data) is not the product of its shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(tensors[a].Name, tensors[b].Name) })

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			if err := writeJSONString(&h, k); err != nil {
				return fmt.Errorf("safetensors: metadata key %q: %w", k, err)
			}
			h.WriteByte(':')
			if err := writeJSONString(&h, metadata[k]); err != nil {
				return fmt.Errorf("safetensors: metadata %s: %w", quoteName(k), err)
			}
		}
		h.WriteByte('}')
	}
	var offset int64
	for i, ti := range order {
		t := &tensors[ti]
		if i > 0 && tensors[order[i-1]].Name == t.Name {
			return fmt.Errorf("safetensors: tensor %s: name used twice", quoteName(t.Name))
		}
		if t.Name == metadataKey {
			return fmt.Errorf("safetensors: tensor name %s is reserved for metadata", metadataKey)
		}
		n, err := numElems(t.Shape)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %s: %v", quoteName(t.Name), err)
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %s: shape %v has %d elements, len(Data) = %d", quoteName(t.Name), fmtShape(t.Shape), n, len(t.Data))
		}
		if len(metadata) > 0 || i > 0 {
			h.WriteByte(',')
		}
		if err := writeJSONString(&h, t.Name); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		h.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + 4*int64(n)
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	if h.Len() > MaxHeaderSize {
		return fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", h.Len(), MaxHeaderSize)
	}

	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(h.Len()))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return fmt.Errorf("safetensors: writing header: %w", err)
	}
	buf := make([]byte, 0, 32<<10)
	for _, ti := range order {
		t := &tensors[ti]
		for _, x := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("safetensors: writing tensor %s: %w", quoteName(t.Name), err)
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("safetensors: writing data: %w", err)
		}
	}
	return nil
}

// writeJSONString writes s as a JSON string, escaping no more than JSON
// needs (not <, > and &, as serde_json does not). It returns an error if s
// is not valid UTF-8, which JSON would silently replace.
func writeJSONString(b *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

package safetensors

import (
	"bytes"
	"testing"

	"github.com/govae/vae/internal/memtest"
)

// FuzzRead checks that Read never panics, that its allocations stay in
// proportion to its input, and that what it reads survives Write and Read
// unchanged.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, tinyTensors, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	if err := Write(&buf, nil, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	for _, tc := range corrupt {
		f.Add(tc.input)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		var (
			file *File
			err  error
		)
		n := memtest.Allocated(func() { file, err = Read(bytes.NewReader(input)) })
		// The JSON decoder and the tensors' bookkeeping cost some multiple
		// of the header's size.
		if limit := uint64(1<<20 + 200*len(input)); n > limit {
			t.Errorf("Read of %d bytes allocated %d bytes", len(input), n)
		}
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, file.Tensors, file.Metadata); err != nil {
			t.Fatalf("Write of what Read returned: %v", err)
		}
		again, err := Read(&out)
		if err != nil {
			t.Fatalf("Read of what Write wrote: %v", err)
		}
		if d := sameTensors(again.Tensors, file.Tensors); d != "" {
			t.Error(d)
		}
		if !sameMetadata(again.Metadata, file.Metadata) {
			t.Errorf("metadata %v, then %v", file.Metadata, again.Metadata)
		}
	})
}

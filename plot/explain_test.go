package plot

import (
	"image/color"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Explanations lays out a row of input, reconstruction and heat map per
// image, gray or colour, with or without labels; a high term is brighter
// than a low one.
func TestExplanations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n, h, w  int
		channels int
		labels   bool
		scale    int
	}{
		{"gray", 2, 4, 4, 0, false, 3},
		{"gray labelled", 3, 4, 4, 1, true, 5},
		{"colour", 1, 2, 3, 3, false, 2},
		{"colour labelled", 2, 3, 3, 3, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := max(1, tc.channels)
			size := nc * tc.h * tc.w
			var inputs, recons, terms [][]float32
			var labels []string
			for i := range tc.n {
				inputs = append(inputs, uniformImage(1, size, 0.2))
				recons = append(recons, uniformImage(1, size, 0.6))
				term := uniformImage(1, size, 0.1)
				term[i] = 5 // pixel i of the first plane: row 0, column i
				terms = append(terms, term)
				if tc.labels {
					labels = append(labels, "#12 score 34.5")
				}
			}
			path := filepath.Join(t.TempDir(), "explain.png")
			opt := GridOptions{Scale: tc.scale, Border: 1, Channels: tc.channels}
			if err := Explanations(path, inputs, recons, terms, labels, tc.h, tc.w, opt); err != nil {
				t.Fatal(err)
			}
			img := readPNG(t, path)
			s := tc.scale
			if s == 0 {
				s = (img.Bounds().Dy() - 1 - tc.n) / (tc.n * tc.h)
			}
			gw, gh := 1+3*(tc.w*s+1), 1+tc.n*(tc.h*s+1)
			W, H := img.Bounds().Dx(), img.Bounds().Dy()
			if H != gh || (W == gw) == tc.labels || W < gw {
				t.Fatalf("picture %d×%d, want %d high and %d wide, more with labels", W, H, gh, gw)
			}
			if tc.labels && tc.h*s < 18 {
				t.Errorf("rows of %d pixels, too short for a label", tc.h*s)
			}
			x0 := W - gw
			for i := range tc.n {
				y := 1 + i*(tc.h*s+1)
				in, rec := nrgbaAt(img, x0+1, y), nrgbaAt(img, x0+1+tc.w*s+1, y)
				if in != (color.NRGBA{51, 51, 51, 255}) || rec != (color.NRGBA{153, 153, 153, 255}) {
					t.Errorf("row %d: input %v, reconstruction %v; want gray 51 and 153", i, in, rec)
				}
				hx := x0 + 1 + 2*(tc.w*s+1)
				hot, cold := grayAt(img, hx+i*s, y), grayAt(img, hx+((i+1)%tc.w)*s, y)
				if hot != 255 || cold != 0 {
					t.Errorf("row %d: heat %d at the high term, %d at a low one; want 255 and 0", i, hot, cold)
				}
			}
		})
	}
}

// The heat map goes from black through red and yellow to white, brighter
// as the term grows.
func TestHeat(t *testing.T) {
	terms := []float32{0, 1, 2, 3, 4, 5, 6}
	h := heat(terms, len(terms))
	n := len(terms)
	var last uint8
	for i := range n {
		c := color.NRGBA{grayLevel(h[i]), grayLevel(h[n+i]), grayLevel(h[2*n+i]), 255}
		g := color.GrayModel.Convert(c).(color.Gray).Y
		if i > 0 && g <= last {
			t.Errorf("term %v: brightness %d, not above %d", terms[i], g, last)
		}
		last = g
	}
	if got := slices.Concat(h[:1], h[n:n+1], h[2*n:2*n+1]); !slices.Equal(got, []float32{0, -1, -2}) {
		t.Errorf("lowest term: %v, want black", got)
	}
	// Three planes add up per pixel; equal sums are black.
	if h := heat([]float32{1, 1, 1, 1}, 2); slices.ContainsFunc(h, func(v float32) bool { return grayLevel(v) != 0 }) {
		t.Errorf("equal terms: %v, want black", h)
	}
}

func TestExplanationsErrors(t *testing.T) {
	im := uniformImage(2, 2, 0.5)
	one := [][]float32{im}
	for _, tc := range []struct {
		name                  string
		inputs, recons, terms [][]float32
		labels                []string
		channels              int
		want                  string
	}{
		{"no images", nil, nil, nil, nil, 0, "no inputs"},
		{"fewer recons", [][]float32{im, im}, one, [][]float32{im, im}, nil, 0, "want as many"},
		{"fewer labels", one, one, one, []string{"a", "b"}, 0, "2 labels"},
		{"short term", one, one, [][]float32{im[:3]}, nil, 0, "terms[0] has 3 pixels"},
		{"gray as colour", one, one, one, nil, 3, "inputs[0] has 4 values"},
		{"two channels", one, one, one, nil, 2, "2 channels"},
	} {
		dir := t.TempDir()
		err := Explanations(filepath.Join(dir, "x.png"), tc.inputs, tc.recons, tc.terms, tc.labels, 2, 2, GridOptions{Channels: tc.channels})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
		assertNoFiles(t, dir)
	}
	if _, err := ExplanationGrid(one, one, one, nil, 0, 2, GridOptions{}); err == nil {
		t.Error("a 0×2 image drew")
	}
	if _, err := ExplanationGrid(one, one, one, nil, 2, 2, GridOptions{Scale: maxSide}); err == nil {
		t.Error("a picture above maxSide drew")
	}
}

// HeatMap is the third tile of an explanation: black at the lowest term,
// white at the highest; it refuses terms that are not one per value.
func TestHeatMap(t *testing.T) {
	img := HeatMap([]float32{0, 1, 2, 10}, 2, 2)
	if img == nil || img.Bounds().Dx() != 2 || img.Bounds().Dy() != 2 {
		t.Fatalf("HeatMap of 2×2 terms = %v", img)
	}
	if lo, hi := img.RGBAAt(0, 0), img.RGBAAt(1, 1); lo.R != 0 || lo.G != 0 || hi.R != 255 || hi.G != 255 || hi.B != 255 {
		t.Errorf("lowest term %v, highest %v: want black and white", lo, hi)
	}
	if r, g := img.RGBAAt(1, 0), img.RGBAAt(0, 1); r.R >= g.R || r.R == 0 { // term 1 < term 2
		t.Errorf("term 1 at %v, term 2 at %v: want the second brighter", r, g)
	}
	for _, n := range []int{0, 3, 5, 13} {
		if HeatMap(make([]float32, n), 2, 2) != nil {
			t.Errorf("%d terms for 2×2 pixels accepted", n)
		}
	}
}

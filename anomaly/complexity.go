package anomaly

import (
	"bytes"
	"image"
	"image/png"
	"math"
)

// PNGBits returns the bits a lossless compressor, PNG at its best
// compression, needs for a gray image of h×w pixels in [0, 1] quantised to
// 8 bits: the input complexity L(x) of Serrà et al. (2020, "Input
// complexity and out-of-distribution detection with likelihood-based
// generative models"), who score an input by −log₂ p(x) − L(x), so that a
// simple input (a blank image) no longer looks likely merely for being
// simple.
func PNGBits(pixels []float32, h, w int) int {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range pixels[:h*w] {
		img.Pix[i] = uint8(math.Round(float64(min(1, max(0, v))) * 255))
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		panic(err) // writing to a bytes.Buffer does not fail
	}
	return 8 * b.Len()
}

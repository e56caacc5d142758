package dataset

import "math/rand/v2"

// Binarize sets dst[i] to 1 with probability x[i] and to 0 otherwise,
// reading x as the probabilities of a Bernoulli variable per element (values
// below 0 count as 0, above 1 as 1), with uniform draws of 24 bits from
// rng. dst may be x itself.
func Binarize(dst, x []float32, rng *rand.PCG) {
	dst = dst[:len(x)]
	const scale = 1.0 / (1 << 24)
	var u uint64
	for i, p := range x {
		if i%2 == 0 {
			u = rng.Uint64()
		} else {
			u >>= 32
		}
		if float32(u&(1<<24-1))*scale < p {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
}

// Binarized returns a copy of s with every example binarised by Binarize:
// a fixed binary version of a data set, as the evaluation of a model
// trained on dynamically binarised data takes. Example i draws from stream
// i of seed, so that each example's binarisation does not depend on the
// others. The name gains a "/binarized" suffix.
func (s *Set) Binarized(seed uint64) *Set {
	b := *s
	b.Name = s.Name + "/binarized"
	b.X = make([]float32, len(s.X))
	var rng rand.PCG
	for i := range s.N {
		rng.Seed(seed, uint64(i))
		Binarize(b.X[i*s.Dim:(i+1)*s.Dim], s.X[i*s.Dim:(i+1)*s.Dim], &rng)
	}
	return &b
}

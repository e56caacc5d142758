//go:build !amd64 || purego

package kernel

// ewBest is the best path of the element-wise kernels on this machine.
const ewBest = ewGo

func adamVec(value, grad, m, v []float32, c *[8]float32) int { return 0 }

func bceVec(grad, logits, targets []float32, scale float32) (int, float64) { return 0, 0 }

func sigmoidVec(y, x []float32) int { return 0 }

func tanhVec(y, x []float32) int { return 0 }

func allInVec(x []float32, lo, hi float32) (int, bool) { return 0, true }

func reluVec(y, x []float32) int { return 0 }

func reluBackwardVec(dx, dy, y []float32) int { return 0 }

func tapVec(t *Tap, dst, src []float32, scatter bool) bool { return false }

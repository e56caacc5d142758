package plot

import (
	"math"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
)

// niceTicks labels an axis at multiples of 1, 2, 2.5 or 5 times a power of ten,
// as many as fit in target (gonum's default gives about three, which leaves
// a large chart bare). With integer set the step is a whole number, for axes
// such as epochs.
type niceTicks struct {
	target  int
	integer bool
}

// Ticks implements gplot.Ticker.
func (t niceTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) || !finite(lo) || !finite(hi) {
		return []gplot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}}
	}
	// The smallest nice step that gives at most target labels.
	target := max(t.target, 2)
	exp := int(math.Floor(math.Log10((hi - lo) / float64(target))))
	var step float64
search:
	for e := exp; e < exp+10; e++ {
		for _, m := range []float64{1, 2, 2.5, 5} {
			step = m * math.Pow10(e)
			if t.integer && step != math.Trunc(step) {
				continue
			}
			if math.Floor(hi/step)-math.Ceil(lo/step)+1 <= float64(target) {
				break search
			}
		}
	}
	first, last := math.Ceil(lo/step), math.Floor(hi/step)
	if last-first > 100 { // only by floating-point trouble
		return []gplot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}, {Value: hi, Label: strconv.FormatFloat(hi, 'g', 6, 64)}}
	}
	// As many decimals as the step has: 0.25 needs two, 20 none.
	dec := 0
	if s := strconv.FormatFloat(step, 'f', -1, 64); strings.Contains(s, ".") {
		dec = len(s) - strings.Index(s, ".") - 1
	}
	big := max(math.Abs(lo), math.Abs(hi)) >= 1e6
	var ticks []gplot.Tick
	for k := first; k <= last; k++ {
		v := k * step
		label := formatCoord(v, dec)
		if big {
			label = strconv.FormatFloat(v, 'g', 4, 64)
		}
		ticks = append(ticks, gplot.Tick{Value: v, Label: label})
	}
	return ticks
}

package run

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/govae/vae/dataset"
	"github.com/govae/vae/table"
)

// classSet returns the examples of s whose class is one of classes, each
// a label number or a class name: the normal data of one-class anomaly
// detection. A class no example has is an error.
func classSet(s *dataset.Set, classes []string) (*dataset.Set, error) {
	if s.Labels == nil {
		return nil, fmt.Errorf("%s has no labels to choose classes %s by", s.Name, strings.Join(classes, ","))
	}
	keep := make([]bool, 256)
	for _, c := range classes {
		found := false
		for l := range s.Classes {
			if c == strconv.Itoa(l) || l < len(s.ClassNames) && c == s.ClassNames[l] {
				keep[l], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s has no class %q (classes 0 to %d%s)", s.Name, c, s.Classes-1, namesOf(s.ClassNames))
		}
	}
	var idx []int
	for i, l := range s.Labels {
		if keep[l] {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("%s has no example of class %s", s.Name, strings.Join(classes, ","))
	}
	return gatherSet(s, idx, "/class-"+strings.Join(classes, "+")), nil
}

func namesOf(names []string) string {
	if names == nil {
		return ""
	}
	if len(names) > 20 {
		names = append(names[:20:20], "…")
	}
	return ": " + strings.Join(names, ", ")
}

// classRows returns the rows of a table whose label cell is one of
// classes; the label column is label.
func classRows(rows *table.Rows, label string, classes []string) (*table.Rows, error) {
	if label == "" {
		return nil, fmt.Errorf("%s: choosing classes %s needs the label column (--label)", rows.Name, strings.Join(classes, ","))
	}
	j := slices.Index(rows.Columns, label)
	if j < 0 {
		return nil, fmt.Errorf("%s has no label column %q", rows.Name, label)
	}
	var idx []int
	found := map[string]bool{}
	for i, r := range rows.Records {
		if j < len(r) && slices.Contains(classes, r[j]) {
			idx, found[r[j]] = append(idx, i), true
		}
	}
	for _, c := range classes {
		if !found[c] {
			return nil, fmt.Errorf("%s: no row has %s %q", rows.Name, label, c)
		}
	}
	return pickRows(rows, idx), nil
}

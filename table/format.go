package table

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Format writes the schema as an aligned table for a terminal: one line per
// column with its name, type (and role, id or label), the percentage of
// cells missing and a detail: the fitted mean and standard deviation, the
// categories, why the type.
func (s *Schema) Format(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "column\ttype\tmissing\tdetail")
	for _, c := range s.Columns {
		typ := string(c.Type)
		switch c.Name {
		case s.ID:
			typ += " (id)"
		case s.Label:
			typ += " (label)"
		}
		miss := ""
		if c.Missing > 0 {
			miss = strconv.FormatFloat(100*c.Missing, 'f', 1, 64) + "%"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cellText(c.Name), cellText(typ), miss, cellText(detail(c)))
	}
	return tw.Flush()
}

// detail returns what Format says of c beyond its type.
func detail(c Column) string {
	var parts []string
	switch c.Type {
	case Continuous:
		if c.Std > 0 {
			parts = append(parts, fmt.Sprintf("mean %s, std %s", g(c.Mean), g(c.Std)))
		}
	case Positive:
		if c.Std > 0 {
			parts = append(parts, fmt.Sprintf("log: mean %s, std %s", g(c.Mean), g(c.Std)))
		}
	case Binary:
		switch len(c.Categories) {
		case 1:
			parts = append(parts, "0: "+c.Categories[0])
		case 2:
			parts = append(parts, "0: "+c.Categories[0]+", 1: "+c.Categories[1])
		}
	case Categorical:
		if n := len(c.Categories); n > 0 {
			const few = 5
			list := strings.Join(c.Categories[:min(n, few)], ", ")
			if n > few {
				list += ", …"
			}
			parts = append(parts, fmt.Sprintf("%d categories: %s", n, list))
		}
	}
	if c.Note != "" && (len(parts) == 0 || !strings.HasSuffix(c.Note, "categories") && c.Note != "two values") {
		parts = append(parts, c.Note)
	}
	return strings.Join(parts, "; ")
}

// g formats x to 4 significant digits, without an exponent between 1e-4
// and 1e9.
func g(x float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 4, 64), 64)
	if a := math.Abs(r); a == 0 || a >= 1e-4 && a < 1e9 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'g', 4, 64)
}

// cellText returns s with tabs, line breaks and other control characters
// escaped, so that it keeps to its cell of the table.
func cellText(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

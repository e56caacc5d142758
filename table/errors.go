package table

import (
	"fmt"
	"strconv"
	"strings"
)

// maxQuoted is the number of bytes of a cell that errors show.
const maxQuoted = 60

// quote returns s quoted as Go would, shortened to maxQuoted bytes, so that
// an error about any cell stays one short line.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// isRuneStart reports whether b starts a UTF-8 sequence.
func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// cellError returns the error of a cell of column, without the path and
// line, which the caller adds.
func cellError(column, cell, format string, args ...any) error {
	return fmt.Errorf("column %s: %s %s", quote(column), quote(cell), fmt.Sprintf(format, args...))
}

// quoteList returns the first few of values quoted and joined by commas,
// with the number left out.
func quoteList(values []string, few int) string {
	var b strings.Builder
	for i, v := range values {
		if i == few {
			fmt.Fprintf(&b, " and %d more", len(values)-few)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	return b.String()
}

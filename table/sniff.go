package table

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// delimiters are the candidates of detection, in order of preference.
var delimiters = []rune{',', '\t', ';', '|'}

// sniffRecords is the number of records of the sample that detection reads.
const sniffRecords = 50

// sniffDelimiter returns the candidate that splits the records of sample
// into the most consistent number of fields (at least two), the earlier
// candidate on a tie, or ',' when none splits them.
func sniffDelimiter(sample []byte) rune {
	best, bestScore := ',', 0.0
	for _, d := range delimiters {
		if !bytes.ContainsRune(sample, d) {
			continue
		}
		cr := csv.NewReader(bytes.NewReader(sample))
		cr.Comma = d
		cr.FieldsPerRecord = -1
		cr.TrimLeadingSpace = !unicode.IsSpace(d)
		cr.ReuseRecord = true
		counts := make(map[int]int)
		total := 0
		for total < sniffRecords {
			rec, err := cr.Read()
			if err != nil {
				break
			}
			counts[len(rec)]++
			total++
		}
		mode, n := 0, 0
		for fields, c := range counts {
			if c > n || c == n && fields > mode {
				mode, n = fields, c
			}
		}
		if mode < 2 {
			continue
		}
		if score := float64(n) / float64(total); score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// detectHeader reports whether first is a header, by the votes of its
// columns against the records below (see Options.Header).
func detectHeader(first []string, below [][]string, missing func(string) bool) bool {
	votes := 0
	for j, h := range first {
		if missing(h) {
			continue
		}
		numeric, sameLen, length, any := true, true, -1, false
		for _, rec := range below {
			if len(rec) != len(first) || missing(rec[j]) {
				continue
			}
			c := rec[j]
			any = true
			if numeric {
				_, numeric = parseNumber(c)
			}
			n := utf8.RuneCountInString(c)
			if length < 0 {
				length = n
			} else if n != length {
				sameLen = false
			}
		}
		switch {
		case !any:
		case numeric:
			if _, ok := parseNumber(h); ok {
				votes--
			} else {
				votes++
			}
		case sameLen:
			if utf8.RuneCountInString(h) != length {
				votes++
			} else {
				votes--
			}
		}
	}
	return votes >= 0
}

// parseNumber reads cell as a number, reporting whether it is one; the
// number may be infinite (also when out of range) or NaN.
func parseNumber(cell string) (float64, bool) {
	if cell == "" {
		return 0, false
	}
	switch c := cell[0]; {
	case '0' <= c && c <= '9', c == '-', c == '+', c == '.',
		c == 'i', c == 'I', c == 'n', c == 'N':
	default:
		return 0, false
	}
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

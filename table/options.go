package table

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Options say how to read a delimited text file. The zero value detects
// everything.
type Options struct {
	// Delimiter separates the fields of a record. 0 detects it from the
	// first lines among ',', '\t', ';' and '|' (tab without detection for a
	// name ending in .tsv or .tab, gzip-compressed or not).
	Delimiter rune

	// Header says whether the first record names the columns. nil detects
	// it, as Python's csv.Sniffer.has_header does: each column votes
	// "header" when its first cell is not a number while the cells below
	// are numbers, or differs in length from the cells below when those all
	// have one length, and "no header" otherwise; the first record is a
	// header unless the "no header" votes are more. A pointer to false
	// names the columns column1, column2, …
	Header *bool

	// Missing lists the cells read as missing, compared after trimming
	// spaces. nil means DefaultMissing; an empty, non-nil slice means no
	// cell is missing.
	Missing []string
}

// defaultMissing is the list DefaultMissing returns.
var defaultMissing = []string{"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"}

// defaultMissingSet is defaultMissing as a set.
var defaultMissingSet = toSet(defaultMissing)

// isDefaultMissing reports whether a cell is one of defaultMissing.
var isDefaultMissing = missingFunc(nil)

// DefaultMissing returns the cells read as missing when Options.Missing is
// nil: "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None" and "?".
func DefaultMissing() []string { return slices.Clone(defaultMissing) }

// toSet returns the trimmed tokens as a set.
func toSet(tokens []string) map[string]bool {
	set := make(map[string]bool, len(tokens))
	for _, t := range tokens {
		set[strings.TrimSpace(t)] = true
	}
	return set
}

// A missingSet tells missing cells, mostly without a map lookup.
type missingSet struct {
	set    map[string]bool
	first  [256]bool // the first bytes of the tokens
	empty  bool      // "" is a token
	maxLen int
}

// has reports whether cell, trimmed, is one of the tokens.
func (m *missingSet) has(cell string) bool {
	cell = trim(cell)
	switch {
	case cell == "":
		return m.empty
	case len(cell) > m.maxLen || !m.first[cell[0]]:
		return false
	}
	return m.set[cell]
}

// missingFunc returns the test of a cell against tokens (nil: the default
// tokens).
func missingFunc(tokens []string) func(string) bool {
	set := defaultMissingSet
	if tokens != nil {
		set = toSet(tokens)
	}
	m := &missingSet{set: set}
	for t := range set {
		if t == "" {
			m.empty = true
			continue
		}
		m.first[t[0]] = true
		m.maxLen = max(m.maxLen, len(t))
	}
	return m.has
}

// Bool returns a pointer to v, for Options.Header.
func Bool(v bool) *bool { return &v }

// trim is strings.TrimSpace with a fast path for the common cell that
// starts and ends with a printable ASCII character: cells are trimmed
// several times on the way from a file to the model.
func trim(s string) string {
	if n := len(s); n == 0 || s[0] > ' ' && s[0] < utf8.RuneSelf && s[n-1] > ' ' && s[n-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimSpace(s)
}

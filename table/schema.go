package table

import (
	"fmt"
	"strings"
)

// A Type says how a column enters the model.
type Type string

// The types of columns.
const (
	Continuous  Type = "continuous"  // a number, standardised: (x − mean)/std
	Positive    Type = "positive"    // a number > 0, standardised in log: (log x − mean)/std
	Binary      Type = "binary"      // one of two values, encoded 0 and 1
	Categorical Type = "categorical" // one of a few values, encoded one-hot
	Ignored     Type = "ignored"     // not model input: id-like, constant, empty, free text
)

// types lists the types in the order of documentation.
var types = []Type{Continuous, Positive, Binary, Categorical, Ignored}

// ParseType returns the Type named s (case and surrounding spaces aside).
func ParseType(s string) (Type, error) {
	t := Type(strings.ToLower(strings.TrimSpace(s)))
	for _, u := range types {
		if t == u {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown type %s (want continuous, positive, binary, categorical or ignored)", quote(s))
}

// The policies of Schema.Unknown.
const (
	UnknownError   = "error"   // an unseen category is an error
	UnknownMissing = "missing" // an unseen category is encoded as missing
)

// checkUnknown returns an error if p is not a policy of Schema.Unknown.
func checkUnknown(p string) error {
	switch p {
	case "", UnknownError, UnknownMissing:
		return nil
	}
	return fmt.Errorf("unknown-category policy %s (want %q or %q)", quote(p), UnknownError, UnknownMissing)
}

// A Column is the schema of one column: its type, inferred or declared,
// and the preprocessing Fit learned for it.
type Column struct {
	Name string `json:"name" yaml:"name"`
	Type Type   `json:"type" yaml:"type"`
	Note string `json:"note,omitempty" yaml:"note,omitempty"` // why the type, e.g. "unique per row (id-like)"

	// Fitted on the training rows by Fit.
	Mean       float64  `json:"mean,omitempty" yaml:"-"`       // of x, or of log x for Positive
	Std        float64  `json:"std,omitempty" yaml:"-"`        // population standard deviation, ditto; 1 where that is 0
	Integer    bool     `json:"integer,omitempty" yaml:"-"`    // Continuous, Positive: all values integers, so Decode rounds
	Categories []string `json:"categories,omitempty" yaml:"-"` // Categorical: the one-hot order; Binary: the values read as 0 and 1
	Missing    float64  `json:"missing,omitempty" yaml:"-"`    // fraction of the training cells missing
}

// A Schema describes every column of a table and how the model sees it.
// It is saved with a model (as JSON, all fields) so that new files are
// encoded as the training rows were, and shown to users (as YAML, the
// types only) to be corrected.
type Schema struct {
	Columns []Column `json:"columns" yaml:"columns"`                     // every column of the file, in order
	ID      string   `json:"id,omitempty" yaml:"id,omitempty"`           // a column carried to outputs, not model input
	Label   string   `json:"label,omitempty" yaml:"label,omitempty"`     // a column kept out of the model input
	Unknown string   `json:"unknown,omitempty" yaml:"unknown,omitempty"` // an unseen category when encoding: UnknownError ("", the default) or UnknownMissing
}

// Hints are what the user says about the columns, to override inference.
type Hints struct {
	ID            string          // the id column, if any: Ignored, carried to outputs
	Label         string          // the label column, if any: typed, but not model input
	Ignore        []string        // columns to leave out of the model
	Types         map[string]Type // declared types, by column name, e.g. from a schema file
	MaxCategories int             // the most categories of a text column; 0: 100
	Unknown       string          // Schema.Unknown
}

// Hints returns the types and roles of s as hints to Infer: the columns
// of a user's schema file that name a type keep it, the others are
// inferred.
func (s *Schema) Hints() Hints {
	h := Hints{ID: s.ID, Label: s.Label, Unknown: s.Unknown, Types: make(map[string]Type)}
	for _, c := range s.Columns {
		if c.Type != "" {
			h.Types[c.Name] = c.Type
		}
	}
	return h
}

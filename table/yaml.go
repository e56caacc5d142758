package table

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/govae/vae/budget"
	"go.yaml.in/yaml/v3"
)

// yamlHeader starts the files WriteYAML writes.
const yamlHeader = `# The columns of a table and how the model sees them. Types: continuous,
# positive (> 0, standardised in log), binary, categorical (one-hot), ignored.
# Edit the types, then pass this file back; a column left out is inferred.
`

// WriteYAML writes the columns' names, types and notes, the id and label
// columns and the unknown-category policy as YAML, to be edited by people
// and read back by ReadSchema. The fitted values are left out.
func (s *Schema) WriteYAML(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(yamlHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("writing the schema: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("writing the schema: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// maxSchemaFile is the largest schema file ReadSchema reads.
const maxSchemaFile = 64 << 20

// ReadSchema reads a schema from the YAML file at path, as WriteYAML writes
// it. A key that is not one of the schema's, a column without a name or
// named twice, a type that is not one of the Types and an unknown-category
// policy other than "error" and "missing" are errors naming the line. A
// column's type may be left out (or empty), for Infer to infer: the file
// may list only some columns, and Schema.Hints turns it into Hints.
func ReadSchema(path string) (*Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxSchemaFile {
		return nil, fmt.Errorf("%s: a schema file of %s, over %s", path, budget.Format(fi.Size()), budget.Format(maxSchemaFile))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSchemaFile+1))
	if err != nil {
		return nil, err
	}
	return parseSchema(data, path)
}

// parseSchema reads a schema from the YAML data of the file path.
func parseSchema(data []byte, path string) (*Schema, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Schema
	if err := dec.Decode(&s); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty schema", path)
		}
		return nil, yamlError(path, err)
	}
	seen := make(map[string]int, len(s.Columns))
	for i := range s.Columns {
		c := &s.Columns[i]
		line := columnLine(&doc, i)
		c.Name = strings.TrimSpace(c.Name)
		if c.Name == "" {
			return nil, fmt.Errorf("%s:%d: a column without a name", path, line)
		}
		if j, ok := seen[c.Name]; ok {
			return nil, fmt.Errorf("%s:%d: column %s is listed twice (also line %d)", path, line, quote(c.Name), columnLine(&doc, j))
		}
		seen[c.Name] = i
		if c.Type != "" {
			t, err := ParseType(string(c.Type))
			if err != nil {
				return nil, fmt.Errorf("%s:%d: column %s: %w", path, line, quote(c.Name), err)
			}
			c.Type = t
		}
	}
	if err := checkUnknown(s.Unknown); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// columnLine returns the line of column i in the YAML document doc, or 0.
func columnLine(doc *yaml.Node, i int) int {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return 0
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return 0
	}
	for k := 0; k+1 < len(m.Content); k += 2 {
		if m.Content[k].Value == "columns" {
			seq := m.Content[k+1]
			if seq.Kind == yaml.SequenceNode && i < len(seq.Content) {
				return seq.Content[i].Line
			}
		}
	}
	return 0
}

// A yamlErr is an error of package yaml, rewritten as one line that starts
// with the file and line.
type yamlErr struct {
	msg string
	err error
}

func (e *yamlErr) Error() string { return e.msg }
func (e *yamlErr) Unwrap() error { return e.err }

var (
	yamlLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^field (.*) not found in type table\.(\w+)$`)
)

// yamlError returns err, an error of package yaml reading the file path, as
// one line per problem in the form path:line: message, joined by "; ".
func yamlError(path string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("; ")
		}
		line := ""
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			line, m = sub[1], sub[2]
		}
		if sub := yamlUnknown.FindStringSubmatch(m); sub != nil {
			where := "the schema"
			if sub[2] == "Column" {
				where = "a column"
			}
			m = fmt.Sprintf("unknown key %s in %s", strconv.Quote(sub[1]), where)
		}
		b.WriteString(path)
		if line != "" {
			b.WriteString(":" + line)
		}
		b.WriteString(": " + m)
	}
	return &yamlErr{msg: b.String(), err: err}
}

package table

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes data to a file name in a temporary folder and returns
// its path.
func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

// A schema written as YAML reads back with its types, and its hints infer
// the same schema again.
func TestYAMLRoundTrip(t *testing.T) {
	s, rows := fitted(t, mixed, Hints{ID: "id", Label: "label", Unknown: UnknownMissing, Types: map[string]Type{"income": Positive}})
	var b bytes.Buffer
	if err := s.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{"# The columns of a table", "  - name: height\n    type: continuous\n", "id: id\n", "label: label\n", "unknown: missing\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("YAML lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "mean") || strings.Contains(text, "categories:") {
		t.Errorf("YAML has fitted values:\n%s", text)
	}
	back, err := ReadSchema(writeFile(t, "schema.yaml", text))
	if err != nil {
		t.Fatal(err)
	}
	again, err := Infer(rows, back.Hints())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range again.Columns {
		if c.Name != s.Columns[i].Name || c.Type != s.Columns[i].Type {
			t.Errorf("column %d: %s %s, want %s %s", i, c.Name, c.Type, s.Columns[i].Name, s.Columns[i].Type)
		}
	}
	if again.ID != "id" || again.Label != "label" || again.Unknown != UnknownMissing {
		t.Errorf("roles %q %q %q", again.ID, again.Label, again.Unknown)
	}
}

// A user's schema may list some columns only, and leave types out.
func TestReadSchemaPartial(t *testing.T) {
	path := writeFile(t, "s.yaml", "columns:\n  - name: smoker\n    type: Categorical\n  - name: height\nid: id\n")
	s, err := ReadSchema(path)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Hints()
	if len(h.Types) != 1 || h.Types["smoker"] != Categorical || h.ID != "id" {
		t.Fatalf("hints %+v", h)
	}
	rows, err := read(mixed, "data.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	inferred, err := Infer(rows, h)
	if err != nil {
		t.Fatal(err)
	}
	if c := inferred.Columns[3]; c.Type != Categorical || c.Note != "declared" {
		t.Errorf("smoker: %s (%s)", c.Type, c.Note)
	}
	if c := inferred.Columns[1]; c.Type != Continuous {
		t.Errorf("height: %s", c.Type)
	}
}

func TestReadSchemaErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown key", "columns:\n  - name: a\n    kind: binary\n", `s.yaml:3: unknown key "kind" in a column`},
		{"unknown top key", "columns: []\nlabels: x\n", `s.yaml:2: unknown key "labels" in the schema`},
		{"unknown type", "columns:\n  - name: a\n    type: binary\n  - name: b\n    type: numeric\n",
			`s.yaml:4: column "b": unknown type "numeric" (want continuous, positive, binary, categorical or ignored)`},
		{"no name", "columns:\n  - type: binary\n", `s.yaml:2: a column without a name`},
		{"twice", "columns:\n  - name: a\n  - name: b\n  - name: a\n", `s.yaml:4: column "a" is listed twice (also line 2)`},
		{"policy", "columns: []\nunknown: skip\n", `s.yaml: unknown-category policy "skip" (want "error" or "missing")`},
		{"syntax", "columns:\n  - name: a\n  type: b\n", `s.yaml:1: did not find expected '-' indicator`},
		{"tab", "columns:\n\t- name: a\n", `s.yaml:2: found character that cannot start any token`},
		{"wrong shape", "columns: 3\n", `s.yaml:1: cannot unmarshal !!int ` + "`3`" + ` into []table.Column`},
		{"empty", "", `s.yaml: empty schema`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "s.yaml", tt.data)
			_, err := ReadSchema(path)
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			got := strings.ReplaceAll(err.Error(), path, "s.yaml")
			if got != tt.want {
				t.Errorf("error\n%s, want\n%s", got, tt.want)
			}
		})
	}
	if _, err := ReadSchema(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestFormat(t *testing.T) {
	s, _ := fitted(t, "id,h,w,sex,c,note\n"+
		"1,1.5,1,M,a,x\n2,2.5,10,F,b,y\n3,NA,100,F,c,z\n4,3.5,1000,M,d,w\n5,2,10000,F,e,v\n6,3,1,M,f,u\n", Hints{ID: "id", Label: "note", Types: map[string]Type{"w": Positive}})
	var b bytes.Buffer
	if err := s.Format(&b); err != nil {
		t.Fatal(err)
	}
	want := `column  type                 missing  detail
id      ignored (id)                  id, carried to outputs
h       continuous           16.7%    mean 2.5, std 0.7071
w       positive                      log: mean 3.838, std 3.432; declared
sex     binary                        0: F, 1: M
c       categorical                   6 categories: a, b, c, d, e, …
note    categorical (label)           6 categories: u, v, w, x, y, …
`
	if b.String() != want {
		t.Errorf("Format wrote\n%s\nwant\n%s", b.String(), want)
	}
}

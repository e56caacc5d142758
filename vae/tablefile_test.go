package vae

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/govae/vae/table"
)

// tableModel returns an untrained model of a table of a number and a
// category, with its schema fitted on csv.
func tableModel(t *testing.T, csv string) *Model {
	t.Helper()
	r, err := table.NewReader(strings.NewReader(csv), "fit.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := table.Infer(rows, table.Hints{})
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Fit(rows); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Input: schema.Width(), Hidden: []int{4}, Latent: 2, Parts: TableParts(schema)}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m.Table = schema
	return m
}

// With OnBadRow, a record that cannot be read or encoded is reported with
// its line and skipped; the other rows score as they do in a file without
// it. Without, the first stops the scoring.
func TestScoreTableBadRows(t *testing.T) {
	m := tableModel(t, "size,colour\n1.5,red\n2.5,blue\n3,red\n0.5,blue\n")
	good := "size,colour\n1.5,red\n2.5,blue\n3,red\n"
	bad := "size,colour\n1.5,red\nbig,red\n2.5,blue\n1,2,3\n3,red\n"
	score := func(csv string, opts ScoreOptions) (string, error) {
		r, err := table.NewReader(strings.NewReader(csv), "data.csv", table.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		err = m.ScoreTable(t.Context(), r, &b, opts)
		return b.String(), err
	}
	want, err := score(good, ScoreOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var dead []BadRow
	got, err := score(bad, ScoreOptions{Seed: 3, OnBadRow: func(b BadRow) error { dead = append(dead, b); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	// The ids are lines, which differ: compare the scores.
	cut := func(s string) (v []string) {
		for _, l := range strings.Split(strings.TrimSpace(s), "\n")[1:] {
			v = append(v, l[strings.Index(l, ","):])
		}
		return v
	}
	if a, b := cut(got), cut(want); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("scores with the bad rows skipped:\n%s\nwant:\n%s", got, want)
	}
	if len(dead) != 2 || dead[0].Line != 3 || dead[1].Line != 5 || dead[0].File != "data.csv" || dead[0].Record[0] != "big" {
		t.Errorf("dead letters %+v, want lines 3 (with its cells) and 5 of data.csv", dead)
	}
	if _, err := score(bad, ScoreOptions{Seed: 3}); err == nil || !strings.Contains(err.Error(), "data.csv:3") {
		t.Errorf("without OnBadRow: %v, want the error of line 3", err)
	}
}

package table_test

import (
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/govae/vae/table"
)

// The main flow: read a table, infer and fit its schema, encode the rows
// for the model and decode a model output back.
func Example() {
	const data = `id,age,income,smoker,city
1,34,42000,no,Paris
2,51,58000,yes,Lyon
3,29,NA,no,Paris
4,62,71000,no,Nice
`
	r, err := table.NewReader(strings.NewReader(data), "people.csv", table.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rows, err := table.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	schema, err := table.Infer(rows, table.Hints{ID: "id"})
	if err != nil {
		log.Fatal(err)
	}
	if err := schema.Fit(rows); err != nil {
		log.Fatal(err)
	}
	schema.Format(os.Stdout)

	x, err := schema.Encode(rows)
	if err != nil {
		log.Fatal(err)
	}
	w := schema.Width()
	fmt.Printf("\n%d rows of %d values; row 3: %.3g\n", len(x)/w, w, x[2*w:3*w])

	cells, err := schema.Decode(nil, x[w:2*w])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("row 2 decoded:", cells)
	// Output:
	// column  type          missing  detail
	// id      ignored (id)           id, carried to outputs
	// age     continuous             mean 44, std 13.21
	// income  continuous    25.0%    mean 57000, std 11860
	// smoker  binary                 0: no, 1: yes
	// city    categorical            3 categories: Lyon, Nice, Paris
	//
	// 4 rows of 6 values; row 3: [-1.14 NaN 0 0 0 1]
	// row 2 decoded: [51 58000 yes Lyon]
}

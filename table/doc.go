// Package table reads the tables a VAE is trained on and turns their rows
// into the model's float32 inputs and back.
//
// A table is a delimited text file (CSV, TSV, semicolon- or pipe-separated,
// gzip-compressed or not) with one record per line and, usually, a header.
// The flow is:
//
//   - Open or NewReader reads records one at a time, detecting the
//     delimiter, the header, gzip compression and a UTF-8 byte-order mark;
//     ReadAll gathers them into Rows.
//   - Infer gives every column a Type (Continuous, Positive, Binary,
//     Categorical or Ignored) from its cells and the user's Hints; a schema
//     file written by WriteYAML and read back by ReadSchema carries the
//     user's corrections.
//   - Fit learns the preprocessing from the training rows: the mean and
//     standard deviation of numeric columns, the categories of the others.
//   - Encode (of a Schema, for Rows in memory, or of a Binding, for a
//     stream of records) turns each record into Width float32 values, NaN
//     where a cell is missing; Decode turns model outputs back into cells in
//     the original units.
//
// Errors about the data name the file, the line, the column and the cell
// at fault, e.g.
//
//	data.csv:17: column "age": "abc" is not a number
//
// Sizes that come from the data are checked against the process's memory
// budget (package budget) before the large allocations they imply.
package table

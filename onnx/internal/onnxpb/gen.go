// Package onnxpb holds the Go types of ONNX's protocol buffers, generated
// from onnx.proto, ONNX's published schema (github.com/onnx/onnx,
// onnx/onnx.proto at f7546912001bc31e92a238b17068a21b373d882e, Apache-2.0),
// with protoc 3.21.12 (Debian's protobuf-compiler) and protoc-gen-go
// v1.36.12:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx/internal/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/govae/vae/onnx/internal/onnxpb onnx.proto

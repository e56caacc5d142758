// Package openblas calls OpenBLAS's cblas_sgemm through cgo. It is built
// only with the openblas tag (and cgo), links -lopenblas (Debian:
// libopenblas-dev), and does no argument checking: package kernel wraps it
// as an Engine. The one prototype needed is declared here, so cblas.h is not
// required.
package openblas

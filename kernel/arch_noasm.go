//go:build !amd64 || purego

package kernel

// bestArch is the kernel set Fast uses by default; nil would mean gonum.
var bestArch = archGo

// archs lists the kernel sets this machine can run, best first.
var archs = []*arch{archGo}

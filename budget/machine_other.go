//go:build !linux

package budget

// machineMemory is not known on this platform.
func machineMemory() int64 { return 0 }

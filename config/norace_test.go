//go:build !race

package config

// raceFactor scales time bounds of tests under the race detector.
const raceFactor = 1

//go:build race

package config

// raceFactor scales time bounds of tests under the race detector, which slows the lexer
// about fourfold.
const raceFactor = 4

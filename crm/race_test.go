//go:build race

package crm_test

// raceDetector is true when the tests run under -race, which makes every
// write several times slower: time bounds are then only reported.
const raceDetector = true

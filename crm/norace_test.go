//go:build !race

package crm_test

const raceDetector = false

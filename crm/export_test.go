package crm

import "time"

// SetImportCrash makes imports stop, as a killed process would, after the
// batch for which crash returns true; nil restores normal imports.
func SetImportCrash(crash func(batch int) bool) { importCrash = crash }

// SetImportPacing changes how long an import batch holds the SQLite write
// lock and how long it leaves it free, and returns a function restoring
// the defaults.
func SetImportPacing(hold, pause time.Duration) (restore func()) {
	h, p := importHold, importPause
	importHold, importPause = hold, pause
	return func() { importHold, importPause = h, p }
}

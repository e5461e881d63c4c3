// Command crmbench measures the supporter import against SQLite's own
// CSV import. It generates a deterministic CSV of realistic supporters,
// then, each in a child process so peak memory is measured alone:
//
//  1. crm import supporters FILE into an empty database;
//  2. the same import again (every row unchanged);
//  3. sqlite3's .import of the same file into a plain table with a UNIQUE
//     email column, the baseline.
//
// It prints wall time, rows per second and peak resident memory of each,
// and the ratios to the baseline. It needs the sqlite3 command (Debian
// package sqlite3); without it, the baseline is skipped.
//
//	go run ./cmd/crmbench -rows 1000000
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/assocrm/assocrm/crm/crmtest"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows in the generated CSV")
	dir := flag.String("dir", "", "work folder (default: a new temporary folder, removed at the end)")
	flag.Parse()
	log.SetFlags(0)

	work := *dir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "crmbench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(work)
	}
	csvPath := filepath.Join(work, fmt.Sprintf("supporters-%d.csv", *rows))
	if _, err := os.Stat(csvPath); err != nil {
		f, err := os.Create(csvPath)
		if err != nil {
			log.Fatal(err)
		}
		if err := crmtest.WriteSupportersCSV(f, *rows, 1); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	st, _ := os.Stat(csvPath)
	fmt.Printf("%d rows, %.1f MB, %d cores, %s/%s\n\n", *rows, float64(st.Size())/1e6, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	crmBin := filepath.Join(work, "crm")
	if out, err := exec.Command("go", "build", "-o", crmBin, "github.com/assocrm/assocrm/cmd/crm").CombinedOutput(); err != nil {
		log.Fatalf("build crm: %v\n%s", err, out)
	}
	db := filepath.Join(work, "crm.db")
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(p)
	}
	first := measure("crm import (empty database)", crmBin, "--db", db, "import", "supporters", csvPath)
	again := measure("crm import again (unchanged)", crmBin, "--db", db, "import", "supporters", csvPath)
	results := []result{first, again}

	if sqlite, err := exec.LookPath("sqlite3"); err == nil {
		base := filepath.Join(work, "baseline.db")
		os.Remove(base)
		baseline := measure("sqlite3 .import (baseline)", sqlite, base,
			"CREATE TABLE supporters(email TEXT UNIQUE, first_name TEXT, last_name TEXT, phone TEXT, city TEXT, "+
				"postcode TEXT, language TEXT, tags TEXT, interests TEXT);",
			".mode csv", ".import --skip 1 "+csvPath+" supporters")
		results = append(results, baseline)
		defer func() {
			fmt.Printf("\nratio to sqlite3: import %.2fx, re-import %.2fx (target: within 1.5x)\n",
				first.elapsed.Seconds()/baseline.elapsed.Seconds(), again.elapsed.Seconds()/baseline.elapsed.Seconds())
		}()
	} else {
		fmt.Println("sqlite3 not found (apt-get install sqlite3): no baseline")
	}
	fmt.Printf("%-30s %10s %12s %12s\n", "", "seconds", "rows/s", "peak MB")
	for _, r := range results {
		fmt.Printf("%-30s %10.2f %12.0f %12.1f\n", r.name, r.elapsed.Seconds(), float64(*rows)/r.elapsed.Seconds(), r.peakMB)
	}
}

type result struct {
	name    string
	elapsed time.Duration
	peakMB  float64
}

// measure runs a command to its end and returns its wall time and peak
// resident memory.
func measure(name, bin string, args ...string) result {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		log.Fatalf("%s: %v\n%s", name, err, out)
	}
	var peak float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return result{name: name, elapsed: elapsed, peakMB: peak}
}

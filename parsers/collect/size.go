package collect

import (
	"fmt"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes ParseSize knows: decimal (kB = 1000) and
// binary (KiB = 1024), case-insensitive.
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9},
	{"b", 1},
}

// ParseSize reads a byte count such as 5MB, 512KiB, 1.5G or 1048576.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f != f || f < 0 || f*mult > 1<<62 { // f != f: NaN
		return 0, fmt.Errorf("bad size %q: want a number of bytes such as 5MB or 512KiB", s)
	}
	return int64(f * mult), nil
}

// FormatSize prints a byte count the way ParseSize reads it.
func FormatSize(n int64) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return strconv.FormatInt(n/1e6, 10) + "MB"
	case n >= 1e3 && n%1e3 == 0:
		return strconv.FormatInt(n/1e3, 10) + "kB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

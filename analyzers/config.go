package analyzers

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Threshold is a named, documented number an analyzer decides with.
type Threshold struct {
	Name    string // analyzer-id.what
	Default float64
	Doc     string
}

// Thresholds is every threshold, with its default and reasoning. Analyzers
// register theirs here so that `--set name=value` can override any of them
// and docs/analyzers.md can list them.
var Thresholds = map[string]Threshold{}

// threshold registers a threshold at init of the analyzer's file and
// returns its name for use with Config.Get.
func threshold(name string, def float64, doc string) string {
	if _, dup := Thresholds[name]; dup {
		panic("duplicate threshold " + name)
	}
	Thresholds[name] = Threshold{Name: name, Default: def, Doc: doc}
	return name
}

// Config holds the thresholds in force and user-supplied data.
type Config struct {
	values map[string]float64
	// HealthcheckCIDRs are added to the built-in catalogue of cloud load
	// balancer health-check ranges.
	HealthcheckCIDRs []netip.Prefix
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config { return &Config{values: map[string]float64{}} }

// Get returns a threshold's value.
func (c *Config) Get(name string) float64 {
	if v, ok := c.values[name]; ok {
		return v
	}
	t, ok := Thresholds[name]
	if !ok {
		panic("unknown threshold " + name)
	}
	return t.Default
}

// Set overrides thresholds from "name=value" strings.
func (c *Config) Set(assignments []string) error {
	for _, a := range assignments {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("--set %q: want name=value", a)
		}
		if _, known := Thresholds[name]; !known {
			return fmt.Errorf("--set %q: unknown threshold (see 'netmortem thresholds')", name)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("--set %q: %w", a, err)
		}
		c.values[name] = v
	}
	return nil
}

// ThresholdNames returns the registered names, sorted.
func ThresholdNames() []string {
	names := make([]string, 0, len(Thresholds))
	for n := range Thresholds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

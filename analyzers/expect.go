package analyzers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Expectation is an incident bundle's expect.yaml (or expect.json): the
// findings that must be reported and those that must not be, above info.
type Expectation struct {
	Must    []ExpectedFinding `yaml:"must" json:"must"`
	MustNot []ExpectedFinding `yaml:"must_not" json:"must_not"`
}

// ExpectedFinding names a finding; empty or nil fields match anything.
type ExpectedFinding struct {
	ID        string `yaml:"id" json:"id"`
	Host      string `yaml:"host,omitempty" json:"host,omitempty"`
	Severity  string `yaml:"severity,omitempty" json:"severity,omitempty"`
	RootCause *bool  `yaml:"root_cause,omitempty" json:"root_cause,omitempty"`
}

// ReadExpectation reads dir/expect.yaml, or dir/expect.json. Unknown keys
// are errors, so that a typo does not silently weaken a check.
func ReadExpectation(dir string) (*Expectation, error) {
	var exp Expectation
	if data, err := os.ReadFile(filepath.Join(dir, "expect.yaml")); err == nil {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&exp); err != nil {
			return nil, fmt.Errorf("expect.yaml: %w", err)
		}
		return &exp, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "expect.json"))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&exp); err != nil {
		return nil, fmt.Errorf("expect.json: %w", err)
	}
	return &exp, nil
}

// Compare lists every way fs misses the expectation: a missing finding, a
// wrong severity or root_cause, or a forbidden finding above info.
func (exp *Expectation) Compare(fs []Finding) []string {
	var fails []string
	match := func(e ExpectedFinding, f Finding) bool {
		return f.ID == e.ID && (e.Host == "" || e.Host == f.Host)
	}
	for _, e := range exp.Must {
		var found *Finding
		for i := range fs {
			if match(e, fs[i]) {
				found = &fs[i]
				break
			}
		}
		switch {
		case found == nil:
			on := ""
			if e.Host != "" {
				on = " on " + e.Host
			}
			fails = append(fails, fmt.Sprintf("missing finding %s%s", e.ID, on))
		case e.Severity != "" && found.Severity.String() != e.Severity:
			fails = append(fails, fmt.Sprintf("finding %s: severity %s, want %s", e.ID, found.Severity, e.Severity))
		case e.RootCause != nil && found.RootCause != *e.RootCause:
			fails = append(fails, fmt.Sprintf("finding %s: root_cause %v, want %v", e.ID, found.RootCause, *e.RootCause))
		}
	}
	for _, e := range exp.MustNot {
		for _, f := range fs {
			if match(e, f) && f.Severity > Info {
				host := f.Host
				if host == "" {
					host = "-"
				}
				fails = append(fails, fmt.Sprintf("unexpected finding %s (%s) on %s: %s", f.ID, f.Severity, host, f.Summary))
			}
		}
	}
	return fails
}

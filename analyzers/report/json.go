package report

import (
	"encoding/json"
	"io"
)

// JSON renders the versioned machine contract (docs/json.md). HTML escaping
// is off: kernel lines hold "<6>" and must stay readable.
type JSON struct{}

// Render writes r as indented JSON.
func (JSON) Render(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// apiError is a request the server refuses: the HTTP status, the field at
// fault ("inputs[2][5]", "body", "image[0]") and what is wrong with it. It is
// written as the JSON body {"error": "FIELD: MESSAGE", "field": FIELD}.
type apiError struct {
	Status  int
	Field   string
	Message string
}

func (e *apiError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func badRequest(field, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, a...)}
}

func tooLarge(field, format string, a ...any) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Field: field, Message: fmt.Sprintf(format, a...)}
}

// contentKind is how a request body is encoded.
type contentKind int

const (
	contentJSON contentKind = iota
	contentMultipart
	contentCSV // text/csv or text/tab-separated-values: the rows of a table
)

// requestContent reads the Content-Type of a POST: application/json, or
// where inputsOK, multipart/form-data (PNG images), or text/csv and
// text/tab-separated-values (rows of a table; refused unless table, the
// model is a table model). It returns the kind, and the boundary of a
// multipart body or the delimiter of a CSV one. Any other type is refused,
// none included: a web page of another site can send text/plain or
// application/x-www-form-urlencoded without the browser asking the server
// first, but not these.
func requestContent(r *http.Request, inputsOK, table bool) (contentKind, string, error) {
	want := "application/json"
	switch {
	case inputsOK && table:
		want += " or text/csv (rows of the table)"
	case inputsOK:
		want += " or multipart/form-data (PNG images)"
	}
	ct := r.Header.Get("Content-Type")
	if strings.TrimSpace(ct) == "" {
		return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("missing, want %s%s", want, curlHint)}
	}
	mt, params, err := mime.ParseMediaType(ct)
	utf8Only := func(kind contentKind, param string) (contentKind, string, error) {
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") {
			return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("charset %s, want utf-8", cs)}
		}
		return kind, param, nil
	}
	switch {
	case err != nil:
		return 0, "", badRequest("Content-Type", "%q: %v", ct, err)
	case mt == "application/json":
		return utf8Only(contentJSON, "")
	case mt == "multipart/form-data" && inputsOK:
		if params["boundary"] == "" {
			return 0, "", badRequest("Content-Type", "multipart/form-data without a boundary")
		}
		return contentMultipart, params["boundary"], nil
	case (mt == "text/csv" || mt == "text/tab-separated-values") && inputsOK && !table:
		return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("%s, but the model was not trained on a table; want %s", mt, want)}
	case mt == "text/csv" && inputsOK:
		return utf8Only(contentCSV, ",")
	case mt == "text/tab-separated-values" && inputsOK:
		return utf8Only(contentCSV, "\t")
	}
	if mt == "application/x-www-form-urlencoded" {
		return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("%s (what curl -d sends), want %s%s", mt, want, curlHint)}
	}
	return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("%s, want %s", mt, want)}
}

const curlHint = "; with curl, use --json or -H 'Content-Type: application/json'"

// utf8BOM is the byte-order mark some editors and tools (PowerShell, .NET)
// put before a UTF-8 text. JSON does not allow it (RFC 8259 §8.1) but lets a
// parser ignore it, which splitObject does.
const utf8BOM = "\xef\xbb\xbf"

// jsonObject is a request body, one JSON object, split into its fields' raw
// values. The large matrices are left to parseMatrix, so that no number is
// scanned twice; the other fields are decoded with encoding/json.
type jsonObject map[string][]byte

// splitObject splits body into its fields. It checks the structure of the
// object; each value is checked when it is decoded.
func splitObject(body []byte) (jsonObject, error) {
	p := &scanner{b: body}
	malformed := func(want string) error {
		return badRequest("body", "invalid JSON at byte %d: want %s", p.i, want)
	}
	if bytes.HasPrefix(body, []byte(utf8BOM)) {
		p.i = len(utf8BOM)
	}
	p.space()
	if p.i == len(body) {
		return nil, badRequest("body", "empty; want a JSON object")
	}
	if p.peek() != '{' {
		return nil, badRequest("body", "got %s, want a JSON object", p.kind())
	}
	p.i++
	o := jsonObject{}
	if p.space(); p.peek() == '}' {
		p.i++
	} else {
		for {
			p.space()
			if p.peek() != '"' {
				return nil, malformed("a field name in quotes")
			}
			end := skipValue(body, p.i)
			var name string
			if err := json.Unmarshal(body[p.i:end], &name); err != nil {
				return nil, malformed("a field name in quotes")
			}
			if name == "" {
				return nil, malformed("a field name, not \"\"")
			}
			p.i = end
			if p.space(); p.peek() != ':' {
				return nil, malformed(fmt.Sprintf("a colon after %q", name))
			}
			p.i++
			p.space()
			start := p.i
			if p.i = skipValue(body, start); p.i == start {
				return nil, badRequest(name, "no value")
			}
			if _, dup := o[name]; dup {
				return nil, badRequest(name, "given twice")
			}
			o[name] = body[start:p.i]
			p.space()
			if c := p.peek(); c == '}' {
				p.i++
				break
			} else if c != ',' {
				return nil, malformed("a comma or } after the value of " + strconv.Quote(name))
			}
			p.i++
		}
	}
	if p.space(); p.i != len(body) {
		return nil, badRequest("body", "more than one JSON value (byte %d)", p.i)
	}
	return o, nil
}

// skipValue returns the end of the JSON value that starts at b[i]: just
// after the closing quote or bracket that matches its first byte, or at the
// first delimiter after a number or literal. It does not check the value.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return min(i+1, len(b))
			}
		case '[', '{':
			depth++
		case ']', '}':
			if depth == 0 {
				return i
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return len(b)
}

// allow refuses a field not among names.
func (o jsonObject) allow(names ...string) error {
	for name := range o {
		if !slices.Contains(names, name) {
			return badRequest(name, "unknown field; want %s", strings.Join(names, ", "))
		}
	}
	return nil
}

// decode decodes field name, if present, into v; want says in words what
// it should be.
func (o jsonObject) decode(name string, v any, want string) error {
	raw, ok := o[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return badRequest(name, "got a JSON %s, want %s", typ.Value, want)
		}
		return badRequest(name, "%s is not %s", clip(raw), want)
	}
	return nil
}

// clip quotes the start of a raw value for an error message.
func clip(raw []byte) string {
	if len(raw) > 24 {
		return strconv.Quote(string(raw[:24])) + "…"
	}
	return strconv.Quote(string(raw))
}

func isWordByte(c byte) bool {
	return c == '+' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// matrixSpec says what a matrix field of a request must hold.
type matrixSpec struct {
	field   string // "inputs"
	cols    int    // numbers per row
	maxRows int
	lo, hi  float64 // each number in [lo, hi]
	what    string  // "the model's input size"
}

// parseMatrix reads raw, a valid JSON value that should be an array of rows
// of s.cols numbers each, into a row-major slice, and returns it with the
// number of rows. Every fault is an *apiError naming the element.
func parseMatrix(raw json.RawMessage, s matrixSpec) ([]float32, int, error) {
	want := fmt.Sprintf("an array of rows of %d numbers in [%g, %g]", s.cols, s.lo, s.hi)
	p := &scanner{b: raw}
	p.space()
	if len(raw) == 0 || p.peek() == 'n' && bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, 0, badRequest(s.field, "missing; want %s", want)
	}
	if p.peek() != '[' {
		return nil, 0, badRequest(s.field, "got %s, want %s", p.kind(), want)
	}
	p.i++
	var out []float32
	n := 0
	if p.space(); p.peek() == ']' {
		return nil, 0, badRequest(s.field, "empty; want at least one row")
	}
	for {
		if n == s.maxRows {
			return nil, 0, tooLarge(s.field, "more than %d rows; send at most %d per request", s.maxRows, s.maxRows)
		}
		row := fmt.Sprintf("%s[%d]", s.field, n)
		if p.space(); p.peek() != '[' {
			return nil, 0, badRequest(row, "got %s, want an array of %d numbers", p.kind(), s.cols)
		}
		p.i++
		if out == nil {
			out = make([]float32, 0, s.cols)
		}
		k := 0
		if p.space(); p.peek() == ']' {
			p.i++
		} else {
			for {
				if k == s.cols {
					return nil, 0, badRequest(row, "more than %d numbers, want %d (%s)", s.cols, s.cols, s.what)
				}
				p.space()
				tok := p.number()
				if tok == nil {
					return nil, 0, badRequest(fmt.Sprintf("%s[%d]", row, k), "got %s, want a number in [%g, %g]", p.kind(), s.lo, s.hi)
				}
				// The conversion to string does not allocate: ParseFloat
				// keeps no reference to it.
				v, err := strconv.ParseFloat(string(tok), 32)
				if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(v) || v < s.lo || v > s.hi {
					return nil, 0, badRequest(fmt.Sprintf("%s[%d]", row, k), "%s is out of range; want a number in [%g, %g]", tok, s.lo, s.hi)
				}
				out = append(out, float32(v))
				k++
				p.space()
				if c := p.next(); c == ']' {
					break
				} else if c != ',' {
					return nil, 0, badRequest(fmt.Sprintf("%s[%d]", row, k-1), "invalid JSON after the number: want , or ]")
				}
			}
		}
		if k != s.cols {
			return nil, 0, badRequest(row, "length %d, want %d (%s)", k, s.cols, s.what)
		}
		n++
		p.space()
		if c := p.next(); c == ']' {
			break
		} else if c != ',' {
			return nil, 0, badRequest(row, "invalid JSON after the row: want , or ]")
		}
	}
	if p.space(); p.i != len(raw) {
		return nil, 0, badRequest(s.field, "invalid JSON after the array")
	}
	return out, n, nil
}

// scanner walks a JSON value.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *scanner) next() byte {
	c := p.peek()
	p.i++
	return c
}

// number consumes a JSON number and returns its text, or returns nil
// and consumes nothing if there is none.
func (p *scanner) number() []byte {
	b, i := p.b, p.i
	digits := func() bool {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil
		}
	}
	tok := b[p.i:i]
	p.i = i
	return tok
}

// kind names the JSON value at the scanner's position.
func (p *scanner) kind() string {
	switch c := p.peek(); {
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		if q := *p; q.number() != nil {
			return "a number"
		}
		end := p.i + 1
		for end < len(p.b) && end-p.i < 24 && strings.IndexByte("+-.eE0123456789xXpPInfinityNa", p.b[end]) >= 0 {
			end++
		}
		return fmt.Sprintf("%s (not a JSON number)", p.b[p.i:end])
	case c == 0 && p.i >= len(p.b):
		return "nothing"
	case c >= utf8.RuneSelf:
		r, size := utf8.DecodeRune(p.b[p.i:])
		switch {
		case r == '\ufeff':
			return "a UTF-8 byte-order mark (not JSON)"
		case r == utf8.RuneError && size <= 1:
			return fmt.Sprintf("byte 0x%02x (not UTF-8)", c)
		}
		return fmt.Sprintf("%q (not JSON)", r)
	}
	end := p.i
	for end < len(p.b) && end-p.i < 24 && (isWordByte(p.b[end]) || p.b[end] >= '0' && p.b[end] <= '9') {
		end++
	}
	if end == p.i {
		return fmt.Sprintf("%q", p.b[p.i])
	}
	return fmt.Sprintf("%s (not JSON)", p.b[p.i:end])
}

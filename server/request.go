package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
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

// readBody reads the whole request body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge("body", "larger than %d bytes", limit)
	case err != nil:
		return nil, badRequest("body", "reading it: %v", err)
	}
	return body, nil
}

// contentKind is how a request body is encoded.
type contentKind int

const (
	contentJSON contentKind = iota
	contentMultipart
)

// requestContent tells a multipart body from a JSON one by the Content-Type
// header. Any other type (none, application/json, or curl's default
// application/x-www-form-urlencoded) is read as JSON.
func requestContent(r *http.Request, multipartOK bool) (contentKind, string, error) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
		return contentJSON, "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return 0, "", badRequest("Content-Type", "%q: %v", ct, err)
	case mt != "multipart/form-data" || !multipartOK:
		want := "a JSON body"
		if multipartOK {
			want += " or multipart/form-data (PNG images)"
		}
		return 0, "", &apiError{Status: http.StatusUnsupportedMediaType, Field: "Content-Type", Message: fmt.Sprintf("%s, want %s", mt, want)}
	case params["boundary"] == "":
		return 0, "", badRequest("Content-Type", "multipart/form-data without a boundary")
	}
	return contentMultipart, params["boundary"], nil
}

// decodeJSON decodes body, one JSON object, into v (a pointer to a struct),
// refusing unknown fields and trailing data. A fault becomes an *apiError
// naming the field, found from the position of a syntax error.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return badRequest("body", "more than one JSON value")
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("body", "empty; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "JSON ends early")
	case errors.As(err, &syntax):
		at := max(syntax.Offset-1, 0)
		msg := fmt.Sprintf("invalid JSON at byte %d: %v", at, strings.TrimPrefix(syntax.Error(), "json: "))
		if word := literalAt(body, int(at)); word != "" {
			msg = fmt.Sprintf("%s is not a JSON value (byte %d); want a number", word, at)
		}
		return badRequest(or(pathAt(body, int(at)), "body"), "%s", msg)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("body", "got a JSON %s, want an object", typ.Value)
		}
		return badRequest(typ.Field, "got a JSON %s, want %s", typ.Value, goTypeName(typ.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return badRequest(or(name, "body"), "unknown field")
	}
	return badRequest("body", "%v", err)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// goTypeName says a Go type of a request field in JSON words.
func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "uint"):
		return "a whole number ≥ 0"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	}
	return t
}

// literalAt returns the non-JSON word (NaN, Infinity, -Infinity, …) that
// starts at body[at], or "".
func literalAt(body []byte, at int) string {
	if at >= len(body) {
		return ""
	}
	end := at
	for end < len(body) && end-at < 16 && (isWordByte(body[end])) {
		end++
	}
	w := string(body[at:end])
	switch strings.ToLower(strings.TrimLeft(w, "+-")) {
	case "nan", "inf", "infinity":
		return w
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '+' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// pathAt returns the JSON path ("inputs[2][5]") of the value that body[at]
// belongs to, by following the structure of body up to at. It does not need
// body to be valid JSON after at.
func pathAt(body []byte, at int) string {
	type level struct {
		array bool
		index int
		key   string
	}
	var stack []level
	expectKey := false // in an object, the next string is a key
	var lastString string
	for i := 0; i < at && i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			lastString = string(body[i+1 : min(j, len(body))])
			if len(stack) > 0 && !stack[len(stack)-1].array && expectKey {
				stack[len(stack)-1].key = lastString
				expectKey = false
			}
			i = j
		case '{':
			stack = append(stack, level{})
			expectKey = true
		case '[':
			stack = append(stack, level{array: true})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) > 0 {
				if top := &stack[len(stack)-1]; top.array {
					top.index++
				} else {
					expectKey = true
				}
			}
		}
	}
	var b strings.Builder
	for i, l := range stack {
		switch {
		case l.array:
			fmt.Fprintf(&b, "[%d]", l.index)
		case l.key != "":
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(l.key)
		}
	}
	return b.String()
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
				tok, ok := p.number()
				if !ok {
					return nil, 0, badRequest(fmt.Sprintf("%s[%d]", row, k), "got %s, want a number in [%g, %g]", p.kind(), s.lo, s.hi)
				}
				v, err := strconv.ParseFloat(tok, 32)
				if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(v) || v < s.lo || v > s.hi {
					return nil, 0, badRequest(fmt.Sprintf("%s[%d]", row, k), "%s is out of range; want a number in [%g, %g]", tok, s.lo, s.hi)
				}
				out = append(out, float32(v))
				k++
				p.space()
				if c := p.next(); c == ']' {
					break
				} else if c != ',' {
					return nil, 0, badRequest(row, "malformed array")
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
			return nil, 0, badRequest(s.field, "malformed array")
		}
	}
	return out, n, nil
}

// scanner walks a JSON value that encoding/json has already checked.
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

// number consumes a JSON number and returns its text.
func (p *scanner) number() (string, bool) {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return "", false
	}
	return string(p.b[start:p.i]), true
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
		return "a number"
	}
	return "nothing"
}

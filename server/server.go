// Package server serves a trained variational autoencoder over HTTP: a
// versioned JSON API to encode, decode, reconstruct, sample and score, and
// the latent-space explorer, a web page embedded in the program.
//
// # API
//
// Every /v1 endpoint but the GET ones (/v1/model, /v1/points…,
// /v1/anomalies) takes a POST with a JSON object (Content-Type:
// application/json); the endpoints that take inputs also take PNG images as
// multipart/form-data (form field "image", repeated). Matrices are arrays of rows; inputs are pixels in [0, 1] (any
// number of absolute value ≤ 10⁶ for a model with a Gaussian likelihood).
//
//	POST /v1/encode       {"inputs": [[x…]…]}            → {"mean": [[…]…], "log_var": [[…]…]}
//	POST /v1/decode       {"latents": [[z…]…]}           → {"outputs": [[…]…]}
//	POST /v1/reconstruct  {"inputs": [[x…]…]}            → {"outputs": [[…]…]}
//	POST /v1/sample       {"n": 4, "seed": 1}            → {"outputs": [[…]…]}
//	POST /v1/score        {"inputs": …, "seed": 1, "k": 0} → {"scores": [{"loss", "recon", "kl", "nll"}…]}
//	GET  /v1/model        the configuration, data and metrics of the model
//	GET  /v1/points       the test set's latent means, labels and scores (the explorer's map)
//	GET  /v1/points/{i}   test example i: its pixels, label and encoding
//	GET  /v1/points/{i}/heat.png  the reconstruction term of each of its pixels, as a PNG
//	GET  /v1/anomalies?n=20       the n test examples of highest score, and what to blame
//	GET  /healthz         "ok"
//	GET  /metrics         Prometheus metrics
//
// # Table models
//
// A model trained on a table (vae.Model.Table set) also takes its rows as
// they are in the file, encoded with the model's schema: in a JSON body, the
// field "rows" instead of "inputs", an array of objects keyed by column name
// whose values are strings, numbers, booleans or null (missing, as is a
// column left out); or a text/csv (or text/tab-separated-values) body, a
// header line and one record per row, its columns in any order, with the
// other fields of /v1/score in the URL's query (/v1/score?k=100):
//
//	POST /v1/score  {"rows": [{"id": "7", "height": 182.5, "colour": "red", "member": true}…]}
//	POST /v1/score  id,height,colour,member⏎7,182.5,red,true⏎…
//
// A cell that does not encode is a 400 naming it: "rows[3].colour" or
// "line 4, column colour". /v1/score adds to each score the reconstruction
// term of each model column ("parts") and the row's "id" when the schema
// has an id column and the row gives it; /v1/reconstruct, /v1/decode and
// /v1/sample add to the encoded means ("outputs") "rows", the means in the
// original units: numbers for numeric columns, the likeliest category for
// the others. GET /v1/model describes the schema's model columns and
// label ("table"), GET /v1/points names the label's classes and
// GET /v1/points/{i} gives the test row's cells ("row") and id. The
// encoded "inputs" still work, but cannot say that a cell is missing.
//
// # Anomalies
//
// The server scores the test set once, at start, with the model's
// detector (vae.Detector) when it has one, else with the negative ELBO
// (seed 1): GET /v1/points gives the scores ("scores"), what they are
// ("score_kind": "elbo", "nll", "recon" or "complexity") and the detector's
// "threshold" (null without one). GET /v1/anomalies lists the n ≤ 100 of
// highest score, highest first, each with its index, score, label, class
// and id, and what the model finds unlikely in it, from one draw of ε per
// example (the same at every request): for a table model, the
// reconstruction term of each column, the highest first, with its share of
// the row's, the row's cell and the reconstruction's ("blame"); for an
// image model, its pixels ("input") and the path of its heat map ("heat"),
// a PNG of the reconstruction term of each pixel.
//
// A request the server refuses gets a 4xx status (503 when it is too busy)
// and the JSON body {"error": "FIELD: what is wrong", "field": "FIELD"},
// where FIELD names the element at fault, e.g. "inputs[2][5]", "image[0]"
// or "body". Bodies, batches, pixels and importance samples are bounded
// (see Options), each before it costs time or memory, and the memory a
// request asks for is bounded by the budget (package budget).
//
// The server answers only the Host names of Options.AllowedHosts (by
// default, on loopback, only loopback ones), and its /v1 endpoints only
// requests of the explorer it serves, not those a browser sends from
// another site's page.
//
// The model is only read, so one Server serves any number of requests at
// once; Options.MaxInFlight bounds how many compute at a time, and
// Options.MaxHeavyInFlight the expensive ones, which do not take the slots
// of the others. A request stops computing when its client goes away.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/govae/vae/budget"
	"github.com/govae/vae/dataset"
	"github.com/govae/vae/run"
	"github.com/govae/vae/vae"
)

// Default limits; a zero field of Options takes these.
const (
	DefaultMaxBatch       = 1024
	DefaultMaxBodyBytes   = 16 << 20
	DefaultMaxNLLSamples  = 100_000
	DefaultMaxK           = 10_000
	DefaultMaxLatentValue = 1000
	DefaultMaxPixels      = 16 << 20 // about 0.4 s of decoding PNGs on one core
	DefaultBodyTimeout    = 30 * time.Second
)

// maxGaussianInput bounds the absolute value of an input to a model with a
// Gaussian likelihood, whose inputs are not confined to [0, 1].
const maxGaussianInput = 1e6

// heavyPixels is the most pixels of the images of a request that is not
// expensive (see Options.MaxHeavyInFlight): those of a 1024×1024 image.
const heavyPixels = 1 << 20

// Options configure a Server. Model is required; every other field may be
// left zero.
type Options struct {
	Model *vae.Model
	// Test, if set, is the test set whose latent means the explorer maps
	// (GET /v1/points); without it the API works and the map is empty.
	Test *dataset.Set
	// Info describes the model in GET /v1/model.
	Info Info
	// Token, if set, must be sent as "Authorization: Bearer TOKEN" with
	// every /v1 request.
	Token string
	// AllowedHosts are the names (or addresses) a request may give in its
	// Host header besides the loopback ones (localhost, 127.0.0.1, [::1]),
	// which are always accepted; "*" accepts any. When it is empty, a
	// request that arrives on a loopback address must name a loopback host,
	// so that a web page whose name was made to resolve to 127.0.0.1 (DNS
	// rebinding) cannot use the server, and one that arrives on another
	// address may name any. A /v1 request sent by a browser from another
	// origin than the server's (its Host) or these names is refused.
	AllowedHosts []string
	// MaxBatch bounds the rows (or images, or samples n) of one request;
	// default DefaultMaxBatch.
	MaxBatch int
	// MaxBodyBytes bounds a request body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBodyMemory bounds the bytes of the request bodies held at once,
	// being read or waiting for a slot; default 4 × MaxInFlight ×
	// MaxBodyBytes or the memory budget (budget.Limit), whichever is
	// smaller, and at least MaxBodyBytes. A body is given memory as it
	// arrives; one that finds none free within BodyTimeout is refused (503).
	MaxBodyMemory int64
	// BodyTimeout is the time a client has to send the body of a request
	// once its headers are in; default DefaultBodyTimeout. A body is read
	// before the request takes a slot (MaxInFlight), so that a slow client
	// keeps no other waiting.
	BodyTimeout time.Duration
	// MaxK bounds the importance samples per input of /v1/score (k), and
	// MaxNLLSamples their total over a request (k times the rows).
	MaxK, MaxNLLSamples int
	// MaxPixels bounds the pixels of the PNG images of one request, summed
	// over the images as their headers give them, before any is decoded;
	// default DefaultMaxPixels.
	MaxPixels int64
	// MaxLatentValue bounds the absolute value of a latent coordinate sent to
	// /v1/decode; default DefaultMaxLatentValue.
	MaxLatentValue float64
	// MaxInFlight bounds the /v1 requests computing at once; the others wait.
	// Default 2 × GOMAXPROCS.
	MaxInFlight int
	// MaxHeavyInFlight bounds the expensive requests computing at once:
	// scores with more importance samples (k times the rows) than MaxBatch,
	// and images of more than 2²⁰ pixels in all. They compute in a pool of
	// their own, so that they do not take the slots of MaxInFlight from
	// cheap requests, and at most 8 × MaxHeavyInFlight of them run or wait
	// at once; the others are refused (503). Default MaxInFlight / 4, at
	// least 1.
	MaxHeavyInFlight int
	// Logger receives a line per refused or failed request; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Info is what GET /v1/model says about the model besides its
// configuration: where it came from and how well it did.
type Info struct {
	Path    string           `json:"path,omitempty"`    // the model file
	Data    string           `json:"data,omitempty"`    // the data set it was trained on, e.g. "mnist"
	Spec    *run.Spec        `json:"spec,omitempty"`    // the run's specification, when the model comes from a run folder
	Metrics []vae.EpochStats `json:"metrics,omitempty"` // the run's metrics per epoch
}

// Server is the HTTP handler of the API and the explorer.
type Server struct {
	opts       Options
	model      *vae.Model
	c, h, w    int // image shape of the model's input: channels, height, width
	mux        *http.ServeMux
	hosts      hostGuard
	inFlight   chan struct{} // slots of the requests computing, MaxInFlight
	heavy      chan struct{} // slots of the expensive ones, MaxHeavyInFlight
	heavyAdmit chan struct{} // places of the expensive ones running or waiting
	bodies     *bytePool     // the memory of the bodies held, MaxBodyMemory
	metrics    *metrics
	log        *slog.Logger
	points     []byte // the JSON of GET /v1/points, made once
	test       *testPoints
	tab        *tableCodec // a table model's schema, else nil

	// testHookWork, if set, is called by each /v1 request once it holds
	// the slot it computes in.
	testHookWork func(*call)
}

// New returns a Server for opts.Model. It encodes opts.Test, if set, for the
// explorer's map.
func New(opts Options) (*Server, error) {
	if opts.Model == nil {
		return nil, errors.New("server: no model")
	}
	if err := opts.Model.Config.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.MaxK <= 0 {
		opts.MaxK = DefaultMaxK
	}
	if opts.MaxNLLSamples <= 0 {
		opts.MaxNLLSamples = DefaultMaxNLLSamples
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	if opts.MaxLatentValue <= 0 {
		opts.MaxLatentValue = DefaultMaxLatentValue
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.MaxHeavyInFlight <= 0 {
		opts.MaxHeavyInFlight = max(1, opts.MaxInFlight/4)
	}
	if opts.MaxBodyMemory <= 0 {
		opts.MaxBodyMemory = min(budget.Mul(4, int64(opts.MaxInFlight), opts.MaxBodyBytes), budget.Limit())
	}
	opts.MaxBodyMemory = max(opts.MaxBodyMemory, budget.Add(opts.MaxBodyBytes, 1))
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	hosts, err := newHostGuard(opts.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		opts:       opts,
		model:      opts.Model,
		mux:        http.NewServeMux(),
		hosts:      hosts,
		inFlight:   make(chan struct{}, opts.MaxInFlight),
		heavy:      make(chan struct{}, opts.MaxHeavyInFlight),
		heavyAdmit: make(chan struct{}, 8*opts.MaxHeavyInFlight),
		bodies:     newBytePool(opts.MaxBodyMemory),
		metrics:    newMetrics(),
		log:        opts.Logger,
	}
	if im := opts.Model.Config.Image; len(im) == 3 {
		s.c, s.h, s.w = im[0], im[1], im[2]
	} else {
		s.c = 1
		s.h, s.w = run.ImageShape(opts.Model.Config.Input)
	}
	if opts.Model.Table != nil {
		tab, err := newTableCodec(opts.Model)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.tab, s.h, s.w = tab, 1, opts.Model.Config.Input
	}
	if opts.Test != nil {
		tp, err := newTestPoints(opts.Model, opts.Test)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.test = tp
	}
	points, err := s.pointsJSON()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.points = points
	s.routes()
	return s, nil
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, h := range securityHeaders {
		w.Header().Set(h[0], h[1])
	}
	if err := s.hosts.check(r); err != nil {
		s.log.Debug("request refused", "path", r.URL.Path, "status", err.Status, "err", err)
		writeError(w, err)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// endpoint is one /v1 route.
type endpoint struct {
	method string
	path   string
	body   bodyKind
	handle func(c *call) error
}

// bodyKind is what a /v1 endpoint takes as its body.
type bodyKind int

const (
	noBody       bodyKind = iota
	jsonBody              // application/json
	jsonOrImages          // application/json or multipart/form-data
)

func (s *Server) routes() {
	api := []endpoint{
		{"POST", "/v1/encode", jsonOrImages, s.encode},
		{"POST", "/v1/decode", jsonBody, s.decode},
		{"POST", "/v1/reconstruct", jsonOrImages, s.reconstruct},
		{"POST", "/v1/sample", jsonBody, s.sample},
		{"POST", "/v1/score", jsonOrImages, s.score},
		{"GET", "/v1/model", noBody, s.modelInfo},
		{"GET", "/v1/points", noBody, s.pointList},
		{"GET", "/v1/points/{i}", noBody, s.point},
		{"GET", "/v1/points/{i}/heat.png", noBody, s.heatMap},
		{"GET", "/v1/anomalies", noBody, s.anomalies},
	}
	for _, e := range api {
		s.mux.Handle(e.path, s.metrics.instrument(e.path, s.apiHandler(e)))
	}
	s.mux.Handle("/v1/", s.metrics.instrument("other", s.apiHandler(endpoint{path: "/v1/", handle: func(c *call) error {
		return &apiError{Status: http.StatusNotFound, Field: "path", Message: fmt.Sprintf("no endpoint %s", c.r.URL.Path)}
	}})))
	s.mux.Handle("GET /healthz", s.metrics.instrument("/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded folder is part of the program
	}
	files := http.FileServerFS(static)
	s.mux.Handle("/", s.metrics.instrument("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		files.ServeHTTP(w, r)
	})))
}

// errResponseLost is the error of a response that could not be written:
// the client went away, or the write timed out. There is no one to tell.
var errResponseLost = errors.New("writing the response")

// apiHandler wraps a /v1 endpoint: method check, bearer token, cross-site
// check, the body, the bounds on requests computing at once, and the JSON
// error for a refusal.
func (s *Server) apiHandler(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.serveAPI(e, w, r)
		if err == nil {
			return
		}
		var ae *apiError
		switch {
		case errors.Is(err, errResponseLost):
			s.log.Debug("response lost", "path", r.URL.Path, "err", err)
			return // its header is written
		case errors.As(err, &ae):
			s.log.Debug("request refused", "path", r.URL.Path, "status", ae.Status, "err", ae)
		case r.Context().Err() != nil:
			ae = &apiError{Status: 499, Field: "request", Message: "cancelled by the client"}
		default:
			s.log.Error("request failed", "path", r.URL.Path, "err", err)
			ae = &apiError{Status: http.StatusInternalServerError, Message: err.Error()}
		}
		writeError(w, ae)
	})
}

func (s *Server) serveAPI(e endpoint, w http.ResponseWriter, r *http.Request) error {
	if s.opts.Token != "" {
		got, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vae"`)
			return &apiError{Status: http.StatusUnauthorized, Field: "Authorization", Message: "missing or wrong bearer token"}
		}
	}
	if e.method != "" && r.Method != e.method {
		w.Header().Set("Allow", e.method)
		return &apiError{Status: http.StatusMethodNotAllowed, Field: "method", Message: fmt.Sprintf("%s, want %s", r.Method, e.method)}
	}
	if err := s.hosts.checkSite(r); err != nil {
		return err
	}
	c := &call{s: s, w: w, r: r, ctx: r.Context()}
	defer c.release()
	switch {
	case e.body == noBody && r.ContentLength == 0:
		// The request is in; the connection is read only to notice that the
		// client went away, which must not time out while it waits for a slot.
		http.NewResponseController(w).SetReadDeadline(time.Time{})
	case e.body != noBody:
		var err error
		if c.kind, c.boundary, err = requestContent(r, e.body == jsonOrImages, s.tab != nil); err != nil {
			return err
		}
		if err := c.readBody(); err != nil {
			return err
		}
	}
	if err := c.take(s.inFlight); err != nil {
		return err
	}
	return e.handle(c)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{e.Error(), e.Field})
}

// writeJSON writes v as the JSON body of a 200 response.
func (c *call) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	return c.writeBody(b)
}

// writeBody writes b as the JSON body of a 200 response, unless the client
// went away. Under Serve, the write timeout counts from here: a request
// that waited for a slot and computed long still gets its answer.
func (c *call) writeBody(b []byte) error {
	return c.write("application/json", b)
}

// write is writeBody for a body of any content type.
func (c *call) write(contentType string, b []byte) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if d, ok := c.ctx.Value(writeTimeoutKey{}).(time.Duration); ok {
		http.NewResponseController(c.w).SetWriteDeadline(time.Now().Add(d))
	}
	c.w.Header().Set("Content-Type", contentType)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if _, err := c.w.Write(b); err != nil {
		return fmt.Errorf("%w: %v", errResponseLost, err)
	}
	return nil
}

// maxJSONNumber is the most bytes a float32 takes in a response, with its
// comma: -1.2345678e-38,
const maxJSONNumber = 16

// checkMemory refuses a request whose buffers, floats float32 numbers and
// jsonFloats of them written out, do not fit the memory budget. what names
// the request as the client made it.
func (s *Server) checkMemory(what string, floats, jsonFloats int64, other ...int64) error {
	bytes := budget.Add(budget.Mul(floats, 4), budget.Mul(jsonFloats, maxJSONNumber))
	for _, b := range other {
		bytes = budget.Add(bytes, b)
	}
	return s.checkBudget("request", what, bytes)
}

// rowsBytes is the most bytes that n rows of a table model's outputs take
// decoded in a response; 0 for another model.
func (s *Server) rowsBytes(n int) int64 {
	if s.tab == nil {
		return 0
	}
	return budget.Mul(int64(n), s.tab.rowBytes)
}

// checkBudget refuses bytes over the memory budget, as budget.Check does,
// with a 413 naming field.
func (s *Server) checkBudget(field, what string, bytes int64) error {
	if err := budget.Check(what, bytes); err != nil {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Field: field, Message: err.Error()}
	}
	return nil
}

// batch is the inputs of a request to /v1/encode, /v1/reconstruct or
// /v1/score: the rows of a JSON body, or PNG images to decode (values).
type batch struct {
	n      int
	x      []float32
	images *imageForm
	ids    []string   // a table's rows: their id cells, or nil
	o      jsonObject // the other fields
}

// pixels returns the pixels of the images to decode.
func (b *batch) pixels() int64 {
	if b.images == nil {
		return 0
	}
	return b.images.pixels
}

// values returns the inputs, decoding the images.
func (c *call) values(b *batch) ([]float32, error) {
	if b.images == nil {
		return b.x, nil
	}
	return b.images.decode(c.ctx, c.s.c, c.s.h, c.s.w)
}

// inputs reads the inputs of a request: the field "inputs" of a JSON body,
// or the PNG images of a multipart one, whose pixels it bounds; for a table
// model, also the field "rows" of a JSON body, or the records of a CSV one.
// It returns them with the other fields, those named in extra, as raw JSON
// (a form value, or for a CSV body a parameter of the URL's query, is taken
// as the JSON text it holds).
func (c *call) inputs(extra ...string) (*batch, error) {
	s := c.s
	if c.kind == contentCSV {
		o, err := c.queryFields(extra...)
		if err != nil {
			return nil, err
		}
		in, err := s.tab.readCSV(c.body, []rune(c.boundary)[0], s.opts.MaxBatch)
		if err != nil {
			return nil, err
		}
		return &batch{n: in.n, x: in.x, ids: in.ids, o: o}, nil
	}
	if c.kind == contentMultipart {
		if s.tab != nil {
			return nil, &apiError{Status: http.StatusUnsupportedMediaType, Field: "image", Message: "the model was trained on a table; send rows, as JSON or text/csv"}
		}
		if s.c*s.h*s.w != s.model.Config.Input || s.h == 1 {
			return nil, &apiError{Status: http.StatusUnsupportedMediaType, Field: "image", Message: fmt.Sprintf("the model's input (%d values) is not an image (a square number of pixels, or the image shape of a convolutional model); send JSON", s.model.Config.Input)}
		}
		f, err := readImageForm(c.body, c.boundary, s.opts.MaxBatch, extra...)
		if err != nil {
			return nil, err
		}
		if f.pixels > s.opts.MaxPixels {
			return nil, tooLarge("image", "%d images of %d pixels in all, more than the limit of %d pixels per request (raise it with --max-pixels)", len(f.files), f.pixels, s.opts.MaxPixels)
		}
		for i, cfg := range f.sizes {
			what := fmt.Sprintf("decoding image[%d], a PNG of %d×%d pixels,", i, cfg.Width, cfg.Height)
			if err := s.checkBudget(fmt.Sprintf("image[%d]", i), what, decodeBytes(cfg)); err != nil {
				return nil, err
			}
		}
		o := jsonObject{}
		for k, v := range f.values {
			o[k] = []byte(v)
		}
		return &batch{n: len(f.files), images: f, o: o}, nil
	}
	o, err := splitObject(c.body)
	if err != nil {
		return nil, err
	}
	fields := append([]string{"inputs"}, extra...)
	if _, ok := o["rows"]; ok && s.tab == nil {
		return nil, badRequest("rows", "the model was not trained on a table; send inputs")
	}
	if s.tab != nil {
		fields = append(fields, "rows")
	}
	if err := o.allow(fields...); err != nil {
		return nil, err
	}
	if raw, ok := o["rows"]; ok {
		if _, both := o["inputs"]; both {
			return nil, badRequest("rows", "given with inputs; send one of them")
		}
		in, err := s.tab.parseRows(raw, s.opts.MaxBatch)
		if err != nil {
			return nil, err
		}
		return &batch{n: in.n, x: in.x, ids: in.ids, o: o}, nil
	}
	lo, hi := 0.0, 1.0 // a Bernoulli model's inputs are probabilities
	if s.model.Config.Likelihood == vae.Gaussian || len(s.model.Config.Parts) > 0 {
		lo, hi = -maxGaussianInput, maxGaussianInput
	}
	x, n, err := parseMatrix(o["inputs"], matrixSpec{field: "inputs", cols: s.model.Config.Input, maxRows: s.opts.MaxBatch, lo: lo, hi: hi, what: "the model's input size"})
	if err == nil && s.tab != nil {
		err = s.tab.checkInputs(x)
	}
	return &batch{n: n, x: x, o: o}, err
}

// queryFields reads the parameters of the URL's query, for a request whose
// body holds no other fields (CSV), as the raw JSON of the fields named.
func (c *call) queryFields(names ...string) (jsonObject, error) {
	o := jsonObject{}
	for k, vs := range c.r.URL.Query() {
		if len(vs) > 1 {
			return nil, badRequest(k, "given twice")
		}
		o[k] = []byte(vs[0])
	}
	return o, o.allow(names...)
}

// jsonFields reads a JSON body with the given fields.
func (c *call) jsonFields(fields ...string) (jsonObject, error) {
	o, err := splitObject(c.body)
	if err != nil {
		return nil, err
	}
	return o, o.allow(fields...)
}

func (s *Server) encode(c *call) error {
	b, err := c.inputs("class")
	if err != nil {
		return err
	}
	model, err := s.given(b.o)
	if err != nil {
		return err
	}
	D, L := int64(s.model.Config.Input), int64(s.model.Config.Latent)
	n := int64(b.n)
	if err := s.checkMemory(fmt.Sprintf("encoding %d inputs with %s", n, s.model.Config), budget.Add(budget.Mul(n, D), budget.Mul(2, n, L)), budget.Mul(2, n, L)); err != nil {
		return err
	}
	if err := c.work(b.pixels() > heavyPixels, fmt.Sprintf("encoding %d images of %d pixels", b.n, b.pixels())); err != nil {
		return err
	}
	x, err := c.values(b)
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/encode", b.n)
	mean, logVar := make([]float32, n*L), make([]float32, n*L)
	err = eachChunk(c.ctx, b.n, rowsPerChunk, func(lo, hi int) error {
		m, lv, err := model.Encode(x[int64(lo)*D : int64(hi)*D])
		copy(mean[int64(lo)*L:], m)
		copy(logVar[int64(lo)*L:], lv)
		return err
	})
	if err != nil {
		return err
	}
	return c.writeMatrices([]string{"mean", "log_var"}, [][]float32{mean, logVar}, int(L))
}

// given returns the model a request's optional field "class" asks for: a
// conditional model given that class (which it needs), or the model.
func (s *Server) given(o jsonObject) (*vae.Model, error) {
	C := s.model.Config.Classes
	if _, ok := o["class"]; !ok {
		if C > 0 {
			return nil, badRequest("class", "missing: the model is conditional, give a class from 0 to %d", C-1)
		}
		return s.model, nil
	}
	if C == 0 {
		return nil, badRequest("class", "the model is not conditional")
	}
	class := -1
	if err := o.decode("class", &class, fmt.Sprintf("a class from 0 to %d", C-1)); err != nil {
		return nil, err
	}
	if class < 0 || class >= C {
		return nil, badRequest("class", "%d, want a class from 0 to %d", class, C-1)
	}
	return s.model.Given(uint8(class))
}

func (s *Server) decode(c *call) error {
	o, err := c.jsonFields("latents", "class")
	if err != nil {
		return err
	}
	m, err := s.given(o)
	if err != nil {
		return err
	}
	D, L := s.model.Config.Input, s.model.Config.Latent
	z, n, err := parseMatrix(o["latents"], matrixSpec{field: "latents", cols: L, maxRows: s.opts.MaxBatch, lo: -s.opts.MaxLatentValue, hi: s.opts.MaxLatentValue, what: "the model's latent size"})
	if err != nil {
		return err
	}
	if err := s.checkMemory(fmt.Sprintf("decoding %d latents with %s", n, s.model.Config), budget.Mul(int64(n), int64(D)), budget.Mul(int64(n), int64(D)), s.rowsBytes(n)); err != nil {
		return err
	}
	if err := c.work(false, ""); err != nil {
		return err
	}
	s.metrics.batch("/v1/decode", n)
	out := make([]float32, n*D)
	err = eachChunk(c.ctx, n, rowsPerChunk, func(lo, hi int) error {
		return m.DecodeTo(out[lo*D:hi*D], z[lo*L:hi*L])
	})
	if err != nil {
		return err
	}
	return c.writeOutputs(out)
}

func (s *Server) reconstruct(c *call) error {
	b, err := c.inputs("class")
	if err != nil {
		return err
	}
	m, err := s.given(b.o)
	if err != nil {
		return err
	}
	D := s.model.Config.Input
	if err := s.checkMemory(fmt.Sprintf("reconstructing %d inputs with %s", b.n, s.model.Config), budget.Mul(2, int64(b.n), int64(D)), budget.Mul(int64(b.n), int64(D)), s.rowsBytes(b.n)); err != nil {
		return err
	}
	if err := c.work(b.pixels() > heavyPixels, fmt.Sprintf("reconstructing %d images of %d pixels", b.n, b.pixels())); err != nil {
		return err
	}
	x, err := c.values(b)
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/reconstruct", b.n)
	out := make([]float32, b.n*D)
	err = eachChunk(c.ctx, b.n, rowsPerChunk, func(lo, hi int) error {
		r, err := m.Reconstruct(x[lo*D : hi*D])
		copy(out[lo*D:], r)
		return err
	})
	if err != nil {
		return err
	}
	return c.writeOutputs(out)
}

const wantSeed = "a whole number ≥ 0"

func (s *Server) sample(c *call) error {
	o, err := c.jsonFields("n", "seed", "class")
	if err != nil {
		return err
	}
	m := s.model // a conditional model without a class draws each sample's class
	if _, ok := o["class"]; ok {
		if m, err = s.given(o); err != nil {
			return err
		}
	}
	n, seed := 1, uint64(1)
	if err := o.decode("n", &n, "a whole number ≥ 1"); err != nil {
		return err
	}
	if err := o.decode("seed", &seed, wantSeed); err != nil {
		return err
	}
	if n < 1 {
		return badRequest("n", "%d, want ≥ 1", n)
	}
	if n > s.opts.MaxBatch {
		return tooLarge("n", "%d samples, more than the limit of %d per request (raise it with --max-batch)", n, s.opts.MaxBatch)
	}
	D := s.model.Config.Input
	if err := s.checkMemory(fmt.Sprintf("sampling %d images with %s", n, s.model.Config), budget.Mul(int64(n), int64(D)), budget.Mul(int64(n), int64(D)), s.rowsBytes(n)); err != nil {
		return err
	}
	if err := c.work(false, ""); err != nil {
		return err
	}
	s.metrics.batch("/v1/sample", n)
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([]float32, n*D)
	err = eachChunk(c.ctx, n, rowsPerChunk, func(lo, hi int) error {
		copy(out[lo*D:], m.Sample(hi-lo, rng)) // draws as Sample(n, rng) does
		return nil
	})
	if err != nil {
		return err
	}
	return c.writeOutputs(out)
}

// Score is the score of one input in a /v1/score response.
type Score struct {
	ID       string   `json:"id,omitempty"` // a table model's row: its id cell, when the schema has an id column and the row gave it
	vae.Loss          // the negative ELBO with one draw of ε, and its two terms
	NLL      *float64 `json:"nll,omitempty"` // the importance-weighted −log p(x) with k samples, when k > 0
	// Parts, for a table model, is the reconstruction term of each model
	// column (0 where the cell is missing); they add up to Recon: which
	// columns make the row unlikely.
	Parts map[string]float32 `json:"parts,omitempty"`
	// Anomaly, when the model has a detector (vae threshold), says whether
	// the detector's score of the input is above its threshold.
	Anomaly *bool `json:"anomaly,omitempty"`
}

func (s *Server) score(c *call) error {
	b, err := c.inputs("seed", "k", "class")
	if err != nil {
		return err
	}
	m, err := s.given(b.o)
	if err != nil {
		return err
	}
	n := b.n
	seed, k := uint64(1), 0
	if err := b.o.decode("seed", &seed, wantSeed); err != nil {
		return err
	}
	if err := b.o.decode("k", &k, "a whole number ≥ 0"); err != nil {
		return err
	}
	samples := budget.Mul(int64(k), int64(n))
	switch {
	case k < 0:
		return badRequest("k", "%d, want ≥ 0 (0: no importance-weighted estimate)", k)
	case k > s.opts.MaxK:
		return tooLarge("k", "%d samples per input, more than the limit of %d (raise it with --max-k)", k, s.opts.MaxK)
	case samples > int64(s.opts.MaxNLLSamples):
		return tooLarge("k", "%d samples × %d inputs = %d importance samples, more than the limit of %d per request (raise it with --max-samples)", k, n, samples, s.opts.MaxNLLSamples)
	}
	if err := s.checkMemory(fmt.Sprintf("scoring %d inputs with %s", n, s.model.Config), budget.Mul(int64(n), int64(s.model.Config.Input)), 0); err != nil {
		return err
	}
	what := fmt.Sprintf("scoring %d inputs with %d samples each", n, k)
	if b.images != nil {
		what = fmt.Sprintf("scoring %d images of %d pixels with %d samples each", n, b.pixels(), k)
	}
	if err := c.work(samples > int64(s.opts.MaxBatch) || b.pixels() > heavyPixels, what); err != nil {
		return err
	}
	x, err := c.values(b)
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/score", n)
	D := s.model.Config.Input
	rng := rand.New(rand.NewPCG(seed, 0))
	scores := make([]Score, n)
	err = eachChunk(c.ctx, n, rowsPerChunk, func(lo, hi int) error {
		if s.tab == nil {
			losses, err := m.Scores(x[lo*D:hi*D], rng) // draws as Scores(x, rng) does
			for i, l := range losses {
				scores[lo+i].Loss = l
			}
			return err
		}
		losses, parts, err := m.PartScores(x[lo*D:hi*D], rng) // draws as Scores does
		P := len(s.tab.features)
		for i, l := range losses {
			sc := &scores[lo+i]
			sc.Loss, sc.Parts = l, make(map[string]float32, P)
			for j, f := range s.tab.features {
				v := parts[i*P+j]
				if !finite(float64(v)) {
					return fmt.Errorf("the score of input %d, column %s, is not finite", lo+i, f.Name)
				}
				sc.Parts[f.Name] = v
			}
			if b.ids != nil {
				sc.ID = b.ids[lo+i]
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if k > 0 {
		nll, err := m.NLL(c.ctx, x, vae.NLLOptions{K: k, Seed: seed})
		if err != nil {
			return err
		}
		for i := range scores {
			scores[i].NLL = &nll[i]
		}
	}
	if s.model.Detector != nil {
		flags, _, err := m.IsAnomaly(c.ctx, x)
		if err != nil {
			return err
		}
		for i := range scores {
			scores[i].Anomaly = &flags[i]
		}
	}
	for i, sc := range scores {
		if !finite(sc.Total) || sc.NLL != nil && !finite(*sc.NLL) {
			return fmt.Errorf("the score of input %d is not finite", i)
		}
	}
	return c.writeJSON(struct {
		Scores []Score `json:"scores"`
	}{scores})
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ModelResponse is the body of GET /v1/model.
type ModelResponse struct {
	Config       vae.Config `json:"config"`
	Architecture string     `json:"architecture"` // e.g. "784-512-2"
	Image        *ImageSize `json:"image,omitempty"`
	TestPoints   int        `json:"test_points"`     // test examples on the explorer's map
	Table        *TableInfo `json:"table,omitempty"` // a table model's columns
	Info
}

// ImageSize is the shape of the model's input as an image.
type ImageSize struct {
	Rows     int `json:"rows"`
	Cols     int `json:"cols"`
	Channels int `json:"channels"` // 1 (gray) or 3 (RGB, one plane after the other)
}

func (s *Server) modelInfo(c *call) error {
	resp := ModelResponse{Config: s.model.Config, Architecture: s.model.Config.String(), Info: s.opts.Info}
	if s.h > 1 {
		resp.Image = &ImageSize{s.h, s.w, s.c}
	}
	if s.test != nil {
		resp.TestPoints = s.test.set.N
	}
	if s.tab != nil {
		resp.Table = s.tab.info()
		if s.test != nil {
			resp.Table.Classes = s.test.set.ClassNames
		}
	}
	return c.writeJSON(resp)
}

// writeMatrices writes the JSON object whose field names[i] is the matrix
// ms[i] of rows of cols numbers, refusing non-finite values.
func (c *call) writeMatrices(names []string, ms [][]float32, cols int) error {
	b, err := appendMatrices(names, ms, cols)
	if err != nil {
		return err
	}
	return c.writeBody(append(b, '}', '\n'))
}

// writeOutputs writes out [n, Input], the means of p(x|z), as the field
// "outputs", and for a table model also decoded as the field "rows".
func (c *call) writeOutputs(out []float32) error {
	if c.s.tab == nil {
		return c.writeMatrices([]string{"outputs"}, [][]float32{out}, c.s.model.Config.Input)
	}
	b, err := appendMatrices([]string{"outputs"}, [][]float32{out}, c.s.model.Config.Input)
	if err != nil {
		return err
	}
	b = append(b, `,"rows":`...)
	if b, err = c.s.tab.appendRows(b, out); err != nil {
		return fmt.Errorf("rows: %w", err)
	}
	return c.writeBody(append(b, '}', '\n'))
}

// appendMatrices returns the start of the JSON object whose field names[i]
// is the matrix ms[i] of rows of cols numbers, without its closing brace,
// refusing non-finite values.
func appendMatrices(names []string, ms [][]float32, cols int) ([]byte, error) {
	size := 2
	for _, m := range ms {
		size += 12*len(m) + 3*len(m)/cols + 16
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, names[i])
		b = append(b, ':')
		var err error
		if b, err = appendMatrix(b, m, cols); err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
	}
	return b, nil
}

// appendMatrix appends m [n, cols] as a JSON array of rows.
func appendMatrix(b []byte, m []float32, cols int) ([]byte, error) {
	b = append(b, '[')
	for i, v := range m {
		switch {
		case i%cols == 0 && i > 0:
			b = append(b, "],["...)
		case i%cols == 0:
			b = append(b, '[')
		default:
			b = append(b, ',')
		}
		var err error
		if b, err = appendFloat(b, v); err != nil {
			return nil, fmt.Errorf("value %d: %w", i, err)
		}
	}
	return append(b, "]]"...), nil
}

// appendFloat appends v as encoding/json writes a float32, refusing a
// non-finite value.
func appendFloat(b []byte, v float32) ([]byte, error) {
	f := float64(v)
	if !finite(f) {
		return nil, fmt.Errorf("%v is not finite", v)
	}
	// encoding/json's choice of format, for float32
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 32), nil
}

// ListenAndServe serves h on addr until ctx is done; then it stops taking
// requests, lets those under way finish and returns nil, or, if some were
// still running after drain, closes their connections and returns an error
// wrapping ErrCutOff. It sets read, write and idle timeouts; the write
// timeout of a /v1 response counts from when its writing starts. ready, if
// not nil, is called with the address it listens on once it does.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, drain time.Duration, ready func(net.Addr)) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if ready != nil {
		ready(l.Addr())
	}
	return Serve(ctx, l, h, drain)
}

// ErrCutOff is what Serve's error wraps when requests under way at the end
// did not finish within the drain time and were cut off.
var ErrCutOff = errors.New("requests under way were cut off")

// serveTimeouts are the timeouts of Serve's http.Server; tests shorten them.
var serveTimeouts = struct{ readHeader, read, write, idle time.Duration }{
	10 * time.Second, 60 * time.Second, 120 * time.Second, 120 * time.Second,
}

// writeTimeoutKey marks the context of a request that Serve answers with
// the write timeout it holds.
type writeTimeoutKey struct{}

// Serve is ListenAndServe on a listener, which it closes.
func Serve(ctx context.Context, l net.Listener, h http.Handler, drain time.Duration) error {
	t := serveTimeouts
	base := context.WithValue(context.WithoutCancel(ctx), writeTimeoutKey{}, t.write)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.readHeader,
		ReadTimeout:       t.read,
		WriteTimeout:      t.write,
		IdleTimeout:       t.idle,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-done
		return fmt.Errorf("serve: %w after the drain time of %v (%v)", ErrCutOff, drain, err)
	}
	<-done // http.ErrServerClosed
	return nil
}

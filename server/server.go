// Package server serves a trained variational autoencoder over HTTP: a
// versioned JSON API to encode, decode, reconstruct, sample and score, and
// the latent-space explorer, a web page embedded in the program.
//
// # API
//
// Every /v1 endpoint but GET /v1/model and GET /v1/points takes a POST with
// a JSON object; the endpoints that take inputs also take PNG images as
// multipart/form-data (form field "image", repeated). Matrices are arrays of
// rows; inputs are pixels in [0, 1] (any number of absolute value ≤ 10⁶ for
// a model with a Gaussian likelihood).
//
//	POST /v1/encode       {"inputs": [[x…]…]}            → {"mean": [[…]…], "log_var": [[…]…]}
//	POST /v1/decode       {"latents": [[z…]…]}           → {"outputs": [[…]…]}
//	POST /v1/reconstruct  {"inputs": [[x…]…]}            → {"outputs": [[…]…]}
//	POST /v1/sample       {"n": 4, "seed": 1}            → {"outputs": [[…]…]}
//	POST /v1/score        {"inputs": …, "seed": 1, "k": 0} → {"scores": [{"loss", "recon", "kl", "nll"}…]}
//	GET  /v1/model        the configuration, data and metrics of the model
//	GET  /v1/points       the test set's latent means and labels (the explorer's map)
//	GET  /v1/points/{i}   test example i: its pixels, label and encoding
//	GET  /healthz         "ok"
//	GET  /metrics         Prometheus metrics
//
// A request the server refuses gets a 4xx status and the JSON body
// {"error": "FIELD: what is wrong", "field": "FIELD"}, where FIELD names the
// element at fault, e.g. "inputs[2][5]", "image[0]" or "body". Bodies,
// batches and importance samples are bounded (see Options).
//
// The model is only read, so one Server serves any number of requests at
// once; Options.MaxInFlight bounds how many compute at a time.
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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

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
)

// maxGaussianInput bounds the absolute value of an input to a model with a
// Gaussian likelihood, whose inputs are not confined to [0, 1].
const maxGaussianInput = 1e6

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
	// MaxBatch bounds the rows (or images, or samples n) of one request;
	// default DefaultMaxBatch.
	MaxBatch int
	// MaxBodyBytes bounds a request body; default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxK bounds the importance samples per input of /v1/score (k), and
	// MaxNLLSamples their total over a request (k times the rows).
	MaxK, MaxNLLSamples int
	// MaxLatentValue bounds the absolute value of a latent coordinate sent to
	// /v1/decode; default DefaultMaxLatentValue.
	MaxLatentValue float64
	// MaxInFlight bounds the /v1 requests computing at once; the others wait.
	// Default 2 × GOMAXPROCS.
	MaxInFlight int
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
	opts     Options
	model    *vae.Model
	h, w     int // image shape of the model's input
	mux      *http.ServeMux
	inFlight chan struct{}
	metrics  *metrics
	log      *slog.Logger
	points   []byte // the JSON of GET /v1/points, made once
	test     *testPoints
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
	if opts.MaxK <= 0 {
		opts.MaxK = DefaultMaxK
	}
	if opts.MaxNLLSamples <= 0 {
		opts.MaxNLLSamples = DefaultMaxNLLSamples
	}
	if opts.MaxLatentValue <= 0 {
		opts.MaxLatentValue = DefaultMaxLatentValue
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 2 * runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{
		opts:     opts,
		model:    opts.Model,
		mux:      http.NewServeMux(),
		inFlight: make(chan struct{}, opts.MaxInFlight),
		metrics:  newMetrics(),
		log:      opts.Logger,
	}
	s.h, s.w = run.ImageShape(opts.Model.Config.Input)
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
	s.mux.ServeHTTP(w, r)
}

// endpoint is one /v1 route.
type endpoint struct {
	method string
	path   string
	handle func(w http.ResponseWriter, r *http.Request) error
}

func (s *Server) routes() {
	api := []endpoint{
		{"POST", "/v1/encode", s.encode},
		{"POST", "/v1/decode", s.decode},
		{"POST", "/v1/reconstruct", s.reconstruct},
		{"POST", "/v1/sample", s.sample},
		{"POST", "/v1/score", s.score},
		{"GET", "/v1/model", s.modelInfo},
		{"GET", "/v1/points", s.pointList},
		{"GET", "/v1/points/{i}", s.point},
	}
	for _, e := range api {
		s.mux.Handle(e.path, s.metrics.instrument(e.path, s.apiHandler(e)))
	}
	s.mux.Handle("/v1/", s.metrics.instrument("other", s.apiHandler(endpoint{path: "/v1/", handle: func(w http.ResponseWriter, r *http.Request) error {
		return &apiError{Status: http.StatusNotFound, Field: "path", Message: fmt.Sprintf("no endpoint %s", r.URL.Path)}
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

// apiHandler wraps a /v1 endpoint: method check, bearer token, the bound on
// requests computing at once, and the JSON error for a refusal.
func (s *Server) apiHandler(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.serveAPI(e, w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			if r.Context().Err() != nil {
				ae = &apiError{Status: 499, Field: "request", Message: "cancelled by the client"}
			} else {
				s.log.Error("request failed", "path", r.URL.Path, "err", err)
				ae = &apiError{Status: http.StatusInternalServerError, Message: err.Error()}
			}
		} else {
			s.log.Debug("request refused", "path", r.URL.Path, "status", ae.Status, "err", ae)
		}
		writeError(w, ae)
	})
}

func (s *Server) serveAPI(e endpoint, w http.ResponseWriter, r *http.Request) error {
	if s.opts.Token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vae"`)
			return &apiError{Status: http.StatusUnauthorized, Field: "Authorization", Message: "missing or wrong bearer token"}
		}
	}
	if e.method != "" && r.Method != e.method {
		w.Header().Set("Allow", e.method)
		return &apiError{Status: http.StatusMethodNotAllowed, Field: "method", Message: fmt.Sprintf("%s, want %s", r.Method, e.method)}
	}
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	case <-r.Context().Done():
		return r.Context().Err()
	}
	return e.handle(w, r)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{e.Error(), e.Field})
}

// writeJSON writes v as the JSON body of a 200 response.
func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	return writeBody(w, b)
}

func writeBody(w http.ResponseWriter, b []byte) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, err := w.Write(b)
	if err != nil {
		return &apiError{Status: 499, Field: "response", Message: err.Error()} // the client went away
	}
	return nil
}

// inputs reads the inputs of a request to /v1/encode, /v1/reconstruct or
// /v1/score: the field "inputs" of a JSON body, or the PNG images of a
// multipart one. It returns them with the other fields, those named in
// extra, as raw JSON (a form value is taken as the JSON text it holds).
func (s *Server) inputs(w http.ResponseWriter, r *http.Request, extra ...string) ([]float32, int, jsonObject, error) {
	kind, boundary, err := requestContent(r, true)
	if err != nil {
		return nil, 0, nil, err
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, 0, nil, err
	}
	if kind == contentMultipart {
		if s.h*s.w != s.model.Config.Input || s.h == 1 {
			return nil, 0, nil, &apiError{Status: http.StatusUnsupportedMediaType, Field: "image", Message: fmt.Sprintf("the model's input (%d values) is not a square image; send JSON", s.model.Config.Input)}
		}
		f, err := readImageForm(body, boundary, s.h, s.w, s.opts.MaxBatch, extra...)
		if err != nil {
			return nil, 0, nil, err
		}
		o := jsonObject{}
		for k, v := range f.values {
			o[k] = []byte(v)
		}
		return f.x, f.n, o, nil
	}
	o, err := splitObject(body)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := o.allow(append([]string{"inputs"}, extra...)...); err != nil {
		return nil, 0, nil, err
	}
	lo, hi := 0.0, 1.0 // a Bernoulli model's inputs are probabilities
	if s.model.Config.Likelihood == vae.Gaussian {
		lo, hi = -maxGaussianInput, maxGaussianInput
	}
	x, n, err := parseMatrix(o["inputs"], matrixSpec{field: "inputs", cols: s.model.Config.Input, maxRows: s.opts.MaxBatch, lo: lo, hi: hi, what: "the model's input size"})
	return x, n, o, err
}

// jsonBody reads a JSON body with the given fields.
func (s *Server) jsonBody(w http.ResponseWriter, r *http.Request, fields ...string) (jsonObject, error) {
	if _, _, err := requestContent(r, false); err != nil {
		return nil, err
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	o, err := splitObject(body)
	if err != nil {
		return nil, err
	}
	return o, o.allow(fields...)
}

func (s *Server) encode(w http.ResponseWriter, r *http.Request) error {
	x, n, _, err := s.inputs(w, r)
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/encode", n)
	mean, logVar, err := s.model.Encode(x)
	if err != nil {
		return err
	}
	L := s.model.Config.Latent
	return s.writeMatrices(w, []string{"mean", "log_var"}, [][]float32{mean, logVar}, L)
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) error {
	o, err := s.jsonBody(w, r, "latents")
	if err != nil {
		return err
	}
	L := s.model.Config.Latent
	z, n, err := parseMatrix(o["latents"], matrixSpec{field: "latents", cols: L, maxRows: s.opts.MaxBatch, lo: -s.opts.MaxLatentValue, hi: s.opts.MaxLatentValue, what: "the model's latent size"})
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/decode", n)
	out, err := s.model.Decode(z)
	if err != nil {
		return err
	}
	return s.writeMatrices(w, []string{"outputs"}, [][]float32{out}, s.model.Config.Input)
}

func (s *Server) reconstruct(w http.ResponseWriter, r *http.Request) error {
	x, n, _, err := s.inputs(w, r)
	if err != nil {
		return err
	}
	s.metrics.batch("/v1/reconstruct", n)
	out, err := s.model.Reconstruct(x)
	if err != nil {
		return err
	}
	return s.writeMatrices(w, []string{"outputs"}, [][]float32{out}, s.model.Config.Input)
}

const wantSeed = "a whole number ≥ 0"

func (s *Server) sample(w http.ResponseWriter, r *http.Request) error {
	o, err := s.jsonBody(w, r, "n", "seed")
	if err != nil {
		return err
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
		return tooLarge("n", "%d, want at most %d", n, s.opts.MaxBatch)
	}
	s.metrics.batch("/v1/sample", n)
	out := s.model.Sample(n, rand.New(rand.NewPCG(seed, 0)))
	return s.writeMatrices(w, []string{"outputs"}, [][]float32{out}, s.model.Config.Input)
}

// Score is the score of one input in a /v1/score response.
type Score struct {
	vae.Loss          // the negative ELBO with one draw of ε, and its two terms
	NLL      *float64 `json:"nll,omitempty"` // the importance-weighted −log p(x) with k samples, when k > 0
}

func (s *Server) score(w http.ResponseWriter, r *http.Request) error {
	x, n, o, err := s.inputs(w, r, "seed", "k")
	if err != nil {
		return err
	}
	seed, k := uint64(1), 0
	if err := o.decode("seed", &seed, wantSeed); err != nil {
		return err
	}
	if err := o.decode("k", &k, "a whole number ≥ 0"); err != nil {
		return err
	}
	switch {
	case k < 0:
		return badRequest("k", "%d, want ≥ 0 (0: no importance-weighted estimate)", k)
	case k > s.opts.MaxK:
		return tooLarge("k", "%d, want at most %d", k, s.opts.MaxK)
	case k*n > s.opts.MaxNLLSamples:
		return tooLarge("k", "%d samples × %d inputs = %d, more than %d per request", k, n, k*n, s.opts.MaxNLLSamples)
	}
	s.metrics.batch("/v1/score", n)
	losses, err := s.model.Scores(x, rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		return err
	}
	scores := make([]Score, n)
	for i, l := range losses {
		scores[i].Loss = l
	}
	if k > 0 {
		nll, err := s.model.NLL(r.Context(), x, vae.NLLOptions{K: k, Seed: seed})
		if err != nil {
			return err
		}
		for i := range scores {
			scores[i].NLL = &nll[i]
		}
	}
	for i, sc := range scores {
		if !finite(sc.Total) || sc.NLL != nil && !finite(*sc.NLL) {
			return fmt.Errorf("the score of input %d is not finite", i)
		}
	}
	return writeJSON(w, struct {
		Scores []Score `json:"scores"`
	}{scores})
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ModelResponse is the body of GET /v1/model.
type ModelResponse struct {
	Config       vae.Config `json:"config"`
	Architecture string     `json:"architecture"` // e.g. "784-512-2"
	Image        *ImageSize `json:"image,omitempty"`
	TestPoints   int        `json:"test_points"` // test examples on the explorer's map
	Info
}

// ImageSize is the shape of the model's input as an image.
type ImageSize struct {
	Rows int `json:"rows"`
	Cols int `json:"cols"`
}

func (s *Server) modelInfo(w http.ResponseWriter, r *http.Request) error {
	resp := ModelResponse{Config: s.model.Config, Architecture: s.model.Config.String(), Info: s.opts.Info}
	if s.h > 1 {
		resp.Image = &ImageSize{s.h, s.w}
	}
	if s.test != nil {
		resp.TestPoints = s.test.set.N
	}
	return writeJSON(w, resp)
}

// writeMatrices writes the JSON object whose field names[i] is the matrix
// ms[i] of rows of cols numbers, refusing non-finite values.
func (s *Server) writeMatrices(w http.ResponseWriter, names []string, ms [][]float32, cols int) error {
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
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	b = append(b, '}', '\n')
	return writeBody(w, b)
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
		f := float64(v)
		if !finite(f) {
			return nil, fmt.Errorf("value %d is %v", i, v)
		}
		// encoding/json's choice of format, for float32
		format := byte('f')
		if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
			format = 'e'
		}
		b = strconv.AppendFloat(b, f, format, -1, 32)
	}
	return append(b, "]]"...), nil
}

// ListenAndServe serves h on addr until ctx is done; then it stops taking
// requests, lets those under way finish (for at most drain) and returns nil.
// It sets read, write and idle timeouts. ready, if not nil, is called with
// the address it listens on once it does.
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

// Serve is ListenAndServe on a listener, which it closes.
func Serve(ctx context.Context, l net.Listener, h http.Handler, drain time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
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
		return fmt.Errorf("serve: draining the requests under way: %w", err)
	}
	<-done // http.ErrServerClosed
	return nil
}

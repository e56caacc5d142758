package server_test

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/govae/vae/server"
	"github.com/govae/vae/vae"
)

// findBrowser returns the path of a Chromium or Chrome on PATH, or "".
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// explorerOptions is the server the browser test drives: a 784-32-2 model
// with random weights and 10,000 random test points, or, when
// $VAE_SCREENSHOT_MODEL names a model file or run folder, that model with
// its run's test set (how docs/explorer.png is made).
func explorerOptions(t *testing.T) server.Options {
	if path := os.Getenv("VAE_SCREENSHOT_MODEL"); path != "" {
		opts, err := server.Load(t.Context(), path, server.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return opts
	}
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{32}, Latent: 2}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return server.Options{Model: m, Test: tinySet(10_000, 784)}
}

// browser is a headless Chromium driven through chromedp, with a page open.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts a headless Chromium on a temporary profile (the test
// skips when there is none) and opens the explorer served by h (see ready). Every
// console message goes to the test log; an exception in the page fails the
// test when it ends.
func newBrowser(t *testing.T, h http.Handler) *browser {
	path := findBrowser()
	if path == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	)...)
	bctx, cancelBrowser := chromedp.NewContext(actx)

	var mu sync.Mutex
	var exceptions []string
	console := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			t.Logf("console: %s", m)
			if m.IsException() {
				mu.Lock()
				exceptions = append(exceptions, m.String())
				mu.Unlock()
			}
		}
	}()
	// Cleanups run last in, first out: the browser stops before the
	// temporary profile folder is removed.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		<-done
		for _, e := range exceptions {
			t.Errorf("exception in the page: %s", e)
		}
	})
	b := &browser{t, bctx}
	b.step("loading the page", chromedp.Navigate(ts.URL))
	return b
}

// ready waits until the explorer has loaded the model and drawn the map.
func (b *browser) ready() {
	b.t.Helper()
	b.poll("the page", `document.body.dataset.ready === "1"`)
}

func (b *browser) step(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression whose value is a number.
func (b *browser) eval(what, expr string) float64 {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// poll waits until a JavaScript expression is true.
func (b *browser) poll(what, expr string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// brightness is the mean pixel value of a canvas, 0 for black or empty.
func (b *browser) brightness(id string) float64 {
	return b.eval("brightness of #"+id, `(() => {
		const c = document.getElementById("`+id+`");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let s = 0;
		for (let i = 0; i < d.length; i += 4) s += d[i];
		return s / (d.length / 4) / 255;
	})()`)
}

// clickMap clicks the map at (x, y) from its top left corner.
func (b *browser) clickMap(x, y float64) {
	b.t.Helper()
	b.step("scrolling to the map", chromedp.ScrollIntoView("#map"))
	mx := b.eval("map left", `document.getElementById("map").getBoundingClientRect().left`)
	my := b.eval("map top", `document.getElementById("map").getBoundingClientRect().top`)
	b.step("clicking the map", chromedp.MouseClickXY(mx+x, my+y, chromedp.ButtonLeft))
}

// TestExplorerInBrowser loads the explorer in headless Chromium, clicks the
// map and checks that a decoded image appears, draws on the canvas and checks
// that its point and reconstruction appear, asks for the grid and an
// interpolation, and saves a screenshot (in the test's temporary folder, and
// at $VAE_SCREENSHOT if set).
func TestExplorerInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	h, err := server.New(explorerOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	step, eval, poll, brightness := br.step, br.eval, br.poll, br.brightness

	// The server's strict Content-Security-Policy lets in the page's own
	// script (it is ready) and style sheet (which sets the body's margin
	// to 0), and nothing the page does below may break it.
	if eval("the style sheet", `getComputedStyle(document.body).marginTop === "0px" ? 1 : 0`) != 1 {
		t.Error("the style sheet did not apply")
	}
	eval("listening for CSP violations", `(window.cspViolations = [], document.addEventListener("securitypolicyviolation", (e) => cspViolations.push(e.violatedDirective + " " + e.blockedURI)), 0)`)
	defer func() {
		if n := eval("CSP violations", `cspViolations.length`); n > 0 {
			v, _ := chromedp.Run(br.ctx, chromedp.Evaluate[string](`cspViolations.join("; ")`))
			t.Errorf("%v Content-Security-Policy violations: %s", n, v)
		}
	}()

	poll("the origin decoded", `document.getElementById("decoded").dataset.z === "0,0"`)
	if n := eval("points drawn", `state.pts.n`); n < 1 {
		t.Fatalf("%v test points on the map", n)
	}

	// Redrawing the map, all its points, must be quick enough for zooming
	// and panning without stutter.
	ms := eval("redrawing the map", `(() => {
		const t0 = performance.now();
		for (let i = 0; i < 20; i++) drawMap();
		return (performance.now() - t0) / 20;
	})()`)
	t.Logf("redrawing the map of %v points: %.2f ms", eval("points", `state.pts.n`), ms)
	if ms > 50 {
		t.Errorf("redrawing the map takes %.1f ms, want < 50", ms)
	}

	// Click the map away from the origin: the decoded image of that point.
	br.clickMap(470, 180)
	poll("the clicked point decoded", `document.getElementById("decoded").dataset.z !== "0,0"`)
	if b := brightness("decoded"); b <= 0 || math.IsNaN(b) {
		t.Errorf("decoded image after a click: brightness %v, want > 0", b)
	}

	// Draw a ring on the canvas: its encoding appears on the map, with a
	// reconstruction and a score.
	step("scrolling to the canvas", chromedp.ScrollIntoView("#draw"))
	dx := eval("canvas left", `document.getElementById("draw").getBoundingClientRect().left`)
	dy := eval("canvas top", `document.getElementById("draw").getBoundingClientRect().top`)
	held := func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }
	var strokes []chromedp.Action[chromedp.Void]
	for k := 0; k <= 24; k++ {
		a := 2 * math.Pi * float64(k) / 24
		x, y := dx+140+60*math.Sin(a), dy+140-90*math.Cos(a)
		typ := input.DispatchMouseEventTypeMouseMoved
		if k == 0 {
			typ = input.DispatchMouseEventTypeMousePressed
		}
		strokes = append(strokes, chromedp.MouseEvent(typ, x, y, chromedp.ButtonLeft, held))
	}
	strokes = append(strokes, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, dx+140, dy+50, chromedp.ButtonLeft))
	step("drawing", strokes...)
	poll("the drawing encoded", `document.getElementById("draw").dataset.encoded !== undefined`)
	poll("its score", `document.getElementById("score").textContent.startsWith("−ELBO")`)
	if b := brightness("draw"); b < 0.02 {
		t.Errorf("drawing canvas brightness %v: nothing drawn", b)
	}
	if b := brightness("recon"); b <= 0 {
		t.Errorf("reconstruction brightness %v, want > 0", b)
	}
	// The red ring of the drawing's point on the map.
	red := eval("the drawing's point on the map", `(() => {
		const [x, y] = toScreen(state.drawn.u, state.drawn.v);
		const dpr = window.devicePixelRatio || 1;
		const d = mctx.getImageData(Math.round((x - 12) * dpr), Math.round((y - 12) * dpr), Math.round(24 * dpr), Math.round(24 * dpr)).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] > 180 && d[i + 1] < 90 && d[i + 2] < 90) n++;
		return n;
	})()`)
	if red < 5 {
		t.Errorf("%v red pixels around the drawing's point on the map, want its ring", red)
	}

	// Interpolate from the drawing to the clicked point, and show the grid.
	step("setting A", chromedp.Click("#set-a"))
	br.clickMap(120, 110)
	poll("the clicked point pinned again", `document.getElementById("pinned-text").textContent !== "pinned: the drawing's encoding (red ring)"`)
	step("setting B", chromedp.Click("#set-b"))
	poll("the interpolation", `document.getElementById("interp").width === 10 * state.cols`)
	step("the grid", chromedp.Click("#show-grid"), chromedp.WaitVisible("#grid"))
	poll("the grid decoded", `document.getElementById("grid").width === 16 * state.cols`)
	if b := brightness("grid"); b <= 0 {
		t.Errorf("grid brightness %v, want > 0", b)
	}
	if e := eval("error banner", `document.getElementById("error").hidden ? 0 : 1`); e != 0 {
		text, _ := chromedp.Run(br.ctx, chromedp.TextContent("#error"))
		t.Errorf("the page shows an error: %s", text)
	}

	// Hover without clicking decodes too; scroll back up for the screenshot.
	step("scrolling to the map", chromedp.ScrollIntoView("#map"))
	mx := eval("map left", `document.getElementById("map").getBoundingClientRect().left`)
	my := eval("map top", `document.getElementById("map").getBoundingClientRect().top`)
	step("hovering", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, mx+200, my+400))
	poll("the hovered point decoded", `document.getElementById("decoded").dataset.z !== state.z.join(",")`)
	eval("scrolling up", `window.scrollTo(0, 0), 0`)

	shot, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	paths := []string{filepath.Join(t.TempDir(), "explorer.png")}
	if p := os.Getenv("VAE_SCREENSHOT"); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// TestExplorerPCAInBrowser checks the explorer of a model with 5 latent
// dimensions: the map shows the principal plane and says so, a click decodes,
// there is a slider per dimension, and choosing two dimensions redraws the
// map.
func TestExplorerPCAInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{32}, Latent: 5}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Options{Model: m, Test: tinySet(500, 784)})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	br.poll("the PCA projection", `state.proj.kind === "pca" && document.getElementById("projection-note").textContent.startsWith("Principal plane")`)
	if n := br.eval("sliders", `document.querySelectorAll("#sliders input").length`); n != 5 {
		t.Errorf("%v sliders, want 5", n)
	}
	br.poll("the origin decoded", `document.getElementById("decoded").dataset.z !== undefined`)
	before := br.eval("z", `Number(document.getElementById("decoded").dataset.z.split(",")[0])`)
	br.clickMap(100, 100)
	br.poll("the clicked point decoded", `Number(document.getElementById("decoded").dataset.z.split(",")[0]) !== `+strconv.FormatFloat(before, 'g', -1, 64))
	br.step("choosing dimensions 2 and 3",
		chromedp.SetValue("#projection", "dims"),
		chromedp.SetValue("#dim-x", "2"),
		chromedp.SetValue("#dim-y", "3"),
	)
	br.eval("applying them", `document.getElementById("projection").onchange(), 0`)
	br.poll("the note on dimensions", `document.getElementById("projection-note").textContent.startsWith("Latent dimensions 2 (x) and 3 (y)")`)
	if x := br.eval("first point", `state.px[0] - Math.fround(state.pts.mean[0][2])`); x != 0 {
		t.Errorf("point 0 is at x = mean[0][2] + %v", x)
	}
}

// TestExplorerTokenInBrowser checks that the explorer of a server with a
// token asks for it, and works once it has it.
func TestExplorerTokenInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	h, err := server.New(server.Options{Model: tinyModel(t, 2), Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.step("entering the token", chromedp.WaitVisible("#token"), chromedp.SendKeys("#token", "s3cret"), chromedp.Click("#token-form button"))
	br.ready()
	br.poll("the origin decoded", `document.getElementById("decoded").dataset.z === "0,0"`)
}

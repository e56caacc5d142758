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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/govae/vae/nn"
	"github.com/govae/vae/run"
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

// text evaluates a JavaScript expression whose value is a string.
func (b *browser) text(what, expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// slide sets the threshold's slider to its attribute end ("min" or "max")
// and returns the number of test points it then flags.
func (b *browser) slide(end string) float64 {
	b.t.Helper()
	return b.eval("moving the threshold to its "+end, `(() => {
		const s = document.getElementById("threshold");
		s.value = s.`+end+`;
		s.dispatchEvent(new Event("input"));
		return Number(document.getElementById("flagged").dataset.count);
	})()`)
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

	// The anomalies: the 20 test points of highest score, each with its
	// heat map; the threshold, at first the scores' 95th percentile, flags
	// 5% of them, all but the lowest at its lowest, with the precision and
	// recall of the labels; a click pins one; the map is coloured by score.
	poll("the anomalies and their heat maps", `document.querySelectorAll("#anomalies li").length === 20 && document.querySelectorAll("#anomalies canvas[data-ready]").length === 20`)
	if b := brightness("heat-" + strconv.Itoa(int(eval("the first anomaly", `state.anomalies[0].index`)))); b <= 0 {
		t.Errorf("the first anomaly's heat map has brightness %v, want > 0", b)
	}
	if n := eval("flagged", `Number(document.getElementById("flagged").dataset.count)`); n != 499 {
		t.Errorf("the 95th percentile flags %v of 10,000 test points, want 499", n)
	}
	if n := br.slide("min"); n != 9999 {
		t.Errorf("the lowest threshold flags %v of 10,000 test points, want 9,999", n)
	}
	if f := br.text("flagged", `document.getElementById("flagged").textContent`); !strings.Contains(f, "precision 0.900, recall 1.000") {
		t.Errorf("flagged %q, want the precision and recall of flagging all but one of 10 classes", f)
	}
	step("pinning the first anomaly", chromedp.Click("#anomalies button"))
	poll("the anomaly pinned", `document.getElementById("pinned-text").textContent.includes("test example " + state.anomalies[0].index + ",")`)
	step("colouring the map by score", chromedp.Click("#by-score"))
	poll("the legend of the scores", `document.getElementById("legend").textContent.startsWith("elbo score:")`)

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
// map. Its run trained it on class 3, which the anomalies take as normal.
func TestExplorerPCAInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{32}, Latent: 5}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.New(server.Options{Model: m, Test: tinySet(500, 784), Info: server.Info{Spec: &run.Spec{Classes: []string{"3"}}}})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	if f := br.text("flagged", `document.getElementById("flagged").textContent`); !strings.Contains(f, "the 450 of other classes") {
		t.Errorf("flagged %q, want class 3 normal and the 450 of the others the anomalies", f)
	}
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

// TestExplorerTableInBrowser checks the explorer of a table model: the map
// is coloured by the label, whose names the legend shows; the decoded point
// is a table of named values, beside those of a clicked test example; a row
// typed as JSON is encoded, reconstructed and scored column by column; and
// an interpolation is a table of ten steps.
func TestExplorerTableInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	m, test := server.NewTableModelForTest(t)
	h, err := server.New(server.Options{Model: m, Test: test})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	text := br.text
	br.poll("the origin decoded as a row", `document.getElementById("decoded-row").dataset.z === "0,0"`)
	cells := text("the decoded row", `Array.from(document.querySelectorAll("#decoded-row tbody tr")).map((r) => r.cells[0].textContent + "=" + r.cells[1].textContent).join(";")`)
	t.Logf("decoded row: %s", cells)
	for _, col := range []string{"height=", "weight=", "colour=", "member="} {
		if !strings.Contains(cells, col) {
			t.Errorf("decoded row %q lacks column %s", cells, col)
		}
	}
	if hidden := br.eval("images hidden", `["decoded", "draw-panel", "show-grid"].every((id) => document.getElementById(id).hidden) ? 1 : 0`); hidden != 1 {
		t.Error("the image panels are shown for a table model")
	}
	if legend := text("the legend", `document.getElementById("legend").textContent`); legend != "a (30)b (30)" {
		t.Errorf("legend %q, want the label's names and counts", legend)
	}
	// Points of both classes are drawn in their colours.
	if n := br.eval("classes on the map", `state.byClass.filter((c) => c.length > 0).length`); n != 2 {
		t.Errorf("%v classes on the map, want 2", n)
	}

	// The anomalies name the columns to blame; the threshold flags some.
	br.poll("the anomalies", `document.querySelectorAll("#anomalies li").length === 20`)
	if first := text("the first anomaly", `document.querySelector("#anomalies li").textContent`); !strings.Contains(first, "%: ") ||
		!strings.Contains(first, "height") && !strings.Contains(first, "weight") && !strings.Contains(first, "colour") && !strings.Contains(first, "member") {
		t.Errorf("the first anomaly %q names no column to blame", first)
	}
	if n := br.slide("max"); n != 0 {
		t.Errorf("the highest threshold flags %v rows, want 0", n)
	}
	if n, f := br.slide("min"), text("flagged", `document.getElementById("flagged").textContent`); n != 59 || !strings.Contains(f, "precision 0.") || !strings.Contains(f, "the 30 of other classes") {
		t.Errorf("the lowest threshold flags %v of 60 rows (%q), want 59, with the precision and recall of taking class a as normal", n, f)
	}

	// Click test example 3: its values, its weight missing, beside the
	// decoded ones.
	br.step("scrolling to the map", chromedp.ScrollIntoView("#map"))
	x := br.eval("point 3 x", `toScreen(state.px[3], state.py[3])[0]`)
	y := br.eval("point 3 y", `toScreen(state.px[3], state.py[3])[1]`)
	mx := br.eval("map left", `document.getElementById("map").getBoundingClientRect().left`)
	my := br.eval("map top", `document.getElementById("map").getBoundingClientRect().top`)
	br.step("clicking test example 3", chromedp.MouseClickXY(mx+x, my+y, chromedp.ButtonLeft))
	br.poll("the example pinned", `document.getElementById("pinned-text").textContent.includes("test example")`)
	br.poll("its values beside the decoded ones", `document.querySelectorAll("#decoded-row thead th").length === 3`)
	if pinned := text("the pinned text", `document.getElementById("pinned-text").textContent`); !strings.Contains(pinned, "(id p") || !strings.Contains(pinned, ", a") && !strings.Contains(pinned, ", b") {
		t.Errorf("pinned %q, want the example's id and class", pinned)
	}

	// A row typed in: its reconstruction and the terms of its columns.
	br.step("typing a row", chromedp.ScrollIntoView("#row-input"), chromedp.SetValue("#row-input", `{"id": "new", "height": 190, "colour": "red", "member": true}`), chromedp.Click("#row-analyse"))
	br.poll("its score", `document.getElementById("row-score").textContent.startsWith("−ELBO") && document.getElementById("row-score").textContent.includes("id new")`)
	recon := text("the reconstruction", `Array.from(document.querySelectorAll("#recon-row tbody tr")).map((r) => Array.from(r.cells).map((c) => c.textContent).join("|")).join(";")`)
	t.Logf("reconstruction: %s", recon)
	if !strings.Contains(recon, "height|190|") || !strings.Contains(recon, "weight|—|") || !strings.Contains(recon, "colour|red|") {
		t.Errorf("reconstruction table %q lacks the row's cells", recon)
	}
	br.poll("the row's point on the map", `document.getElementById("row-input").dataset.encoded !== undefined && state.drawn !== null`)

	// Interpolate from the row to the origin.
	br.step("setting A", chromedp.Click("#set-a"))
	br.eval("pinning the origin", `(pin([0, 0], "the origin"), 0)`)
	br.step("setting B", chromedp.Click("#set-b"))
	br.poll("the interpolation", `document.getElementById("interp-table").dataset.steps === "10"`)
	if n := br.eval("interpolation columns", `document.querySelectorAll("#interp-table thead th").length`); n != 11 {
		t.Errorf("interpolation table with %v columns, want 11", n)
	}
	if e := br.eval("error banner", `document.getElementById("error").hidden ? 0 : 1`); e != 0 {
		msg, _ := chromedp.Run(br.ctx, chromedp.TextContent("#error"))
		t.Errorf("the page shows an error: %s", msg)
	}
	eval := br.eval
	eval("scrolling up", `window.scrollTo(0, 0), 0`)
	if p := os.Getenv("VAE_SCREENSHOT_TABLE"); p != "" {
		shot, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A conditional model's explorer shows the class picker; the decoded
// image follows the class picked.
func TestExplorerClassPicker(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	m, err := vae.New(vae.Config{Input: 784, Hidden: []int{32}, Latent: 2, Classes: 10}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.DecoderClass.W.Value { // let the class matter
		m.DecoderClass.W.Value[i] *= 20
	}
	h, err := server.New(server.Options{Model: m, Test: tinySet(1000, 784)})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	if br.eval("the class picker", `document.getElementById("class-box").hidden ? 0 : document.getElementById("class-picker").options.length`) != 10 {
		t.Fatal("the class picker is hidden or has not 10 classes")
	}
	br.poll("the origin decoded", `document.getElementById("decoded").dataset.z === "0,0"`)
	before := br.brightness("decoded")
	br.eval("picking class 7", `(() => { const s = document.getElementById("class-picker"); s.value = "7"; s.dispatchEvent(new Event("change")); return 0; })()`)
	br.poll("the origin decoded again", `document.getElementById("decoded").dataset.class === "7"`)
	if after := br.brightness("decoded"); after == before {
		t.Errorf("the decoded image's brightness %v did not change with the class", after)
	}
}

// A colour model's images are drawn in colour: the decoded image's planes
// are its red, green and blue.
func TestExplorerColourInBrowser(t *testing.T) {
	if findBrowser() == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the explorer's browser test needs one (Debian: apt-get install chromium)")
	}
	m, err := vae.New(vae.Config{Input: 3 * 64, Image: []int{3, 8, 8}, Encoder: []string{"conv4s2", "dense8"}, Decoder: []string{"dense8"}, Latent: 2},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Decoder[len(m.Decoder)-1].(*nn.Dense).B.Value[:64] { // a red image at the origin
		m.Decoder[len(m.Decoder)-1].(*nn.Dense).B.Value[i] = 5
	}
	h, err := server.New(server.Options{Model: m, Test: tinySet(100, 3*64)})
	if err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, h)
	br.ready()
	br.poll("the origin decoded", `document.getElementById("decoded").dataset.z === "0,0"`)
	red := br.eval("red over green of #decoded", `(() => {
		const c = document.getElementById("decoded");
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let r = 0, g = 0;
		for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; }
		return r / Math.max(1, g);
	})()`)
	if !(red > 1.5) {
		t.Errorf("the decoded image's red is %.3g× its green, want a red image (> 1.5×)", red)
	}
	if w := br.eval("the decoded canvas's width", `document.getElementById("decoded").width`); w != 8 {
		t.Errorf("the decoded canvas is %v pixels wide, want the model's 8", w)
	}
}

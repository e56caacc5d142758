package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/govae/vae/internal/atomicfile"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// wantFile is what a fetched file must be.
type wantFile struct {
	sha256 string // the hex SHA-256 of its decompressed content
	size   int64  // the length of that content; 0: unknown
}

// contentMax returns the most bytes of decompressed content to accept.
func (w wantFile) contentMax() int64 {
	if w.size > 0 {
		return w.size
	}
	return maxIDXFileBytes
}

// bodyMax returns the most bytes of a file to accept, gzipped or not: the
// content, and what gzip may add to content that does not compress (a
// header that may name the file, stored blocks of 5 bytes per 64 KiB, a
// trailer).
func (w wantFile) bodyMax() int64 {
	c := w.contentMax()
	return c + c/1024 + 64<<10
}

// stallTimeout is how long a download may go without receiving a byte,
// headers included, before it is given up. Tests shorten it.
var stallTimeout = 30 * time.Second

// download fetches url into the file dst. The file is created, or replaced,
// only once the whole body has arrived and its decompressed content is want;
// otherwise nothing is left behind. The download stops as soon as the body
// or its content runs past what want allows, and when no byte has arrived
// for stall (if it is positive). Progress, if not nil, receives progress
// reports.
func download(ctx context.Context, client *http.Client, url, dst string, want wantFile, stall time.Duration, progress io.Writer) (err error) {
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watch := &stallWatch{}
	if stall > 0 {
		watch.timer = time.AfterFunc(stall, func() { cancel(errStalled) })
		defer watch.timer.Stop()
	}
	defer func() {
		// However the stall shows up (an error from the client, the body
		// or the copy), say what it was.
		if err != nil && parent.Err() == nil && errors.Is(context.Cause(ctx), errStalled) {
			err = fmt.Errorf("GET %s: transfer stalled: no data for %v after %d bytes", url, stall, watch.n)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err // *url.Error names the method and URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if max := want.bodyMax(); resp.ContentLength > max {
		return fmt.Errorf("GET %s: Content-Length %d is more than the %d bytes the file can take", url, resp.ContentLength, max)
	}
	watch.r, watch.stall = resp.Body, stall
	body := io.Reader(watch)
	var m *meter
	if progress != nil {
		m = newMeter(progress, path.Base(req.URL.Path), resp.ContentLength)
		body = io.TeeReader(body, m)
	}
	err = atomicfile.Write(dst, func(w io.Writer) error {
		n, err := verifiedCopy(w, body, want)
		if watch.timer != nil && err == nil {
			watch.timer.Stop() // the body is in: syncing the file is no stall
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("transfer cut off: want %d bytes, got %d", resp.ContentLength, n)
		}
		return err
	})
	m.done(err)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// errStalled is the cause of a download given up for want of data.
var errStalled = errors.New("transfer stalled")

// stallWatch reads from r, counting the bytes, and pushes the stall timer
// back whenever some arrive.
type stallWatch struct {
	r     io.Reader
	timer *time.Timer // nil: no stall timeout
	stall time.Duration
	n     int64
}

func (s *stallWatch) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.n += int64(n)
		if s.timer != nil {
			s.timer.Reset(s.stall)
		}
	}
	return n, err
}

// copyVerified copies the file src to dst, atomically, provided its
// decompressed content is want.
func copyVerified(src, dst string, want wantFile) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	err = atomicfile.Write(dst, func(w io.Writer) error {
		_, err := verifiedCopy(w, f, want)
		return err
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// verifiedCopy copies r to w as is and returns the number of bytes copied.
// It fails unless the content of r, decompressed if it is gzipped, has the
// SHA-256 want.sha256, and it stops as soon as r runs past want.bodyMax()
// bytes or its content past want.contentMax().
func verifiedCopy(w io.Writer, r io.Reader, want wantFile) (int64, error) {
	bodyMax, contentMax := want.bodyMax(), want.contentMax()
	cr := &countingReader{r: &capReader{r: r, left: bodyMax, max: bodyMax}}
	h := sha256.New()
	content, err := decompress(io.TeeReader(cr, w))
	var n int64
	if err == nil {
		n, err = io.Copy(h, io.LimitReader(content, contentMax+1))
	}
	var long *tooLongError
	switch {
	case errors.As(cr.err, &long):
		return cr.n, long
	case cr.err != nil && !errors.Is(cr.err, io.EOF):
		return cr.n, fmt.Errorf("transfer cut off after %d bytes: %w", cr.n, cr.err)
	case err != nil:
		return cr.n, err
	case n > contentMax && want.size > 0:
		return cr.n, fmt.Errorf("content ran past %d bytes, the length of the published file", contentMax)
	case n > contentMax:
		return cr.n, fmt.Errorf("content ran past %d bytes, the most an IDX file may hold", contentMax)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.sha256 {
		return cr.n, fmt.Errorf("checksum mismatch: content has SHA-256 %s, want %s", got, want.sha256)
	}
	return cr.n, nil
}

// capReader reads at most max bytes from r, and fails once r has more.
type capReader struct {
	r         io.Reader
	left, max int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.left == 0 {
		// All that may come has come: is there more?
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, &tooLongError{c.max}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// tooLongError says that a body ran past the most bytes it may have.
type tooLongError struct{ max int64 }

func (e *tooLongError) Error() string {
	return fmt.Sprintf("body ran past %d bytes, more than the file can take", e.max)
}

// countingReader counts the bytes read through it and keeps the error that
// ended the reading.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// meter reports the progress of one download: a progress bar on a terminal,
// a few plain lines elsewhere.
type meter struct {
	w       io.Writer
	name    string
	size, n int64 // size < 0: unknown
	next    int64 // plain lines: the count at which the next line is due
	bar     *progressbar.ProgressBar
	start   time.Time
}

// newMeter starts reporting the download of name, of size bytes (< 0 if
// unknown), to w.
func newMeter(w io.Writer, name string, size int64) *meter {
	m := &meter{w: w, name: name, size: size, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		m.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		return m
	}
	if size >= 0 {
		fmt.Fprintf(w, "downloading %s (%s)\n", name, megabytes(size))
	} else {
		fmt.Fprintf(w, "downloading %s\n", name)
	}
	m.next = m.step()
	return m
}

// step is the number of bytes between plain progress lines.
func (m *meter) step() int64 {
	if m.size > 0 {
		return max(m.size/4, 1)
	}
	return 8 << 20
}

// Write counts len(p) more bytes downloaded. It never fails.
func (m *meter) Write(p []byte) (int, error) {
	m.n += int64(len(p))
	if m.bar != nil {
		m.bar.Add(len(p))
		return len(p), nil
	}
	if m.n >= m.next && (m.size < 0 || m.n < m.size) {
		if m.size > 0 {
			fmt.Fprintf(m.w, "%s: %s of %s (%d%%)\n", m.name, megabytes(m.n), megabytes(m.size), 100*m.n/m.size)
		} else {
			fmt.Fprintf(m.w, "%s: %s\n", m.name, megabytes(m.n))
		}
		for m.next <= m.n {
			m.next += m.step()
		}
	}
	return len(p), nil
}

// done ends the report, successful if err is nil. It does nothing on a nil
// meter.
func (m *meter) done(err error) {
	switch {
	case m == nil:
	case m.bar != nil && err == nil && m.size >= 0:
		m.bar.Finish() // prints the final newline
	case m.bar != nil:
		m.bar.Exit()
	case err == nil:
		fmt.Fprintf(m.w, "%s: done, %s in %s\n", m.name, megabytes(m.n), time.Since(m.start).Round(100*time.Millisecond))
	default:
		fmt.Fprintf(m.w, "%s: failed after %s\n", m.name, megabytes(m.n))
	}
}

// megabytes formats a byte count for people.
func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

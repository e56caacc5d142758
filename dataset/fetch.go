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

// download fetches url into the file dst. The file is created, or replaced,
// only once the whole body has arrived and the SHA-256 of its decompressed
// content is want; otherwise nothing is left behind. Progress, if not nil,
// receives progress reports.
func download(ctx context.Context, client *http.Client, url, dst, want string, progress io.Writer) error {
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
	body := io.Reader(resp.Body)
	var m *meter
	if progress != nil {
		m = newMeter(progress, path.Base(req.URL.Path), resp.ContentLength)
		body = io.TeeReader(body, m)
	}
	err = atomicfile.Write(dst, func(w io.Writer) error {
		n, err := verifiedCopy(w, body, want)
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

// copyVerified copies the file src to dst, atomically, provided the SHA-256
// of its decompressed content is want.
func copyVerified(src, dst, want string) error {
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
// It fails unless the SHA-256 of the content of r, decompressed if it is
// gzipped, is the hex string want.
func verifiedCopy(w io.Writer, r io.Reader, want string) (int64, error) {
	cr := &countingReader{r: r}
	h := sha256.New()
	content, err := decompress(io.TeeReader(cr, w))
	if err == nil {
		_, err = io.Copy(h, content)
	}
	if cr.err != nil && !errors.Is(cr.err, io.EOF) {
		return cr.n, fmt.Errorf("transfer cut off after %d bytes: %w", cr.n, cr.err)
	}
	if err != nil {
		return cr.n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return cr.n, fmt.Errorf("checksum mismatch: content has SHA-256 %s, want %s", got, want)
	}
	return cr.n, nil
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

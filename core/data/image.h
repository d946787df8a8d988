// image.h: decoded images and the per-image preprocessing of the data sets.
// Decoding: JPEG (libjpeg-turbo) and PNG (libpng), the format told by the
// file's first bytes, both behind setjmp so a corrupt file is an error, not
// a crash. Geometry: bilinear resize that matches torchvision's Resize on
// float tensors with antialias=False, i.e. torch.nn.functional.interpolate
// (mode="bilinear", align_corners=False): source coordinate
//     s = max(0, (in/out) * (d + 0.5) - 0.5),  i0 = (int)s,  i1 = min(i0 + 1, in - 1),
//     v = (1 - l) v[i0] + l v[i1] with l = s - i0
// (scale in float, s in double, l rounded to float, the sums in float, as
// torch 1.13's CPU upsample_bilinear2d does: its weights are reproduced
// exactly). No antialiasing on downscale (PIL pipelines antialias: expect
// differences there). Centre crop as torchvision's
// CenterCrop (offset round((in - out) / 2), Python's round-half-even), random
// resized crop as torchvision's RandomResizedCrop.get_params with our RNG,
// horizontal flip, and Normalize ((x - mean) / std), fused into one sampler
// that reads uint8 pixels and writes the normalised float output.
#ifndef WB_IMAGE_H
#define WB_IMAGE_H

#include "core/runtime/common.h"
#include "core/runtime/rng.h"

#include <stddef.h>
#include <stdint.h>

// A decoded image: px (H, W, C) uint8, row-major, C = 1 (gray) or 3 (RGB).
// px is owned (cap > 0 bytes, category data) when the image was decoded.
typedef struct {
    int H, W, C;
    uint8_t *px;
    size_t cap;
} Image;

// A growable byte buffer (category data), for file contents.
typedef struct {
    uint8_t *p;
    size_t n, cap;
} ByteBuf;

#define IMAGE_MAX_PIXELS (1L << 26)  // 8192 x 8192: refuse larger headers (corrupt or not meant for us)

// Read a whole file into buf (grown as needed). -1 with a message naming path on error.
int file_read_all(ByteBuf *buf, const char *path, WbError *err);
void bytebuf_free(ByteBuf *buf);

// Decode JPEG or PNG bytes into img (grown as needed). `name` is the file
// named in error messages. Gray (and gray+alpha) decode to C = 1, everything
// else to C = 3 (palette expanded, 16-bit stripped to 8, alpha dropped,
// CMYK converted). Corrupt data (libjpeg's "Corrupt JPEG data" and
// "Premature end" warnings, any libpng error) is an error.
int image_decode(Image *img, const uint8_t *data, size_t n, const char *name, WbError *err);
// file_read_all + image_decode.
int image_load(Image *img, ByteBuf *buf, const char *path, WbError *err);
void image_free(Image *img);

// Writers (tests, benchmarks): px (H, W, C) with C = 1 or 3.
int image_write_png(const char *path, const uint8_t *px, int H, int W, int C, WbError *err);
int image_write_jpeg(const char *path, const uint8_t *px, int H, int W, int C, int quality, WbError *err);

// Geometry of one output: the box (i, j, h, w) of the source is resized to
// (RH, RW), and the S x S window at (top, left) of that is the output,
// mirrored left-right when flip is set.
//   Resize((S,S)):               box = whole image, RH = RW = S, top = left = 0
//   Resize(R) + CenterCrop(S):   box = whole image, (RH, RW) = short side R, window centred
//   RandomResizedCrop(S):        box drawn at random, RH = RW = S
typedef struct {
    int i, j, h, w;
    int RH, RW;
    int top, left;
    int flip;
} ImageGeom;

// torchvision's CenterCrop offset: round((in - out) / 2) with Python's round-half-even.
int image_center_offset(int in, int out);
// Resize (H, W) to exactly (S, S) (squash; torchvision Resize((S, S))).
void image_geom_squash(ImageGeom *g, int H, int W, int S);
// Resize the shorter side to R (torchvision Resize(R): the longer side becomes
// int(R * long / short)), then CenterCrop(S). Needs R >= S.
void image_geom_short_crop(ImageGeom *g, int H, int W, int R, int S);
// torchvision RandomResizedCrop(S, scale, ratio).get_params: up to ten draws of
// area fraction ~ U(scale) and log aspect ~ U(log ratio), w = round(sqrt(A r)),
// h = round(sqrt(A / r)); accepted when it fits, position uniform; otherwise
// the fallback central crop clamped to the ratio range.
void image_geom_random_resized_crop(ImageGeom *g, int H, int W, int S, const float scale[2],
                                    const float ratio[2], Rng *rng);

// out (Cout, S, S) = normalise(sample(src, g)), src (H, W, C) uint8.
// Channels: C == Cout copies, 1 -> 3 replicates the gray channel, 3 -> 1 takes
// torchvision's luminance 0.2989 R + 0.587 G + 0.114 B. mean/std have Cout entries.
// tab: IMAGE_TAB_BYTES(S) of workspace (index and weight tables, 4S ints + 2S
// floats). FLOPs per output pixel: 9 per source channel interpolated
// (6 mul + 3 add), 5 for the 3 -> 1 luminance, 2 per output channel for
// the normalisation (1 sub + 1 div); see image_sample_flops.
#define IMAGE_TAB_BYTES(S) ((size_t)(S) * 6 * sizeof(int))
void image_sample(float *out, void *tab, const uint8_t *src, int H, int W, int C, const ImageGeom *g,
                  int S, int Cout, const float *mean, const float *std);
// Same sampler without FLOP charging, for callers that run it in a parallel
// region and charge the total themselves (image_sample_flops per call).
void image_sample_nocount(float *out, void *tab, const uint8_t *src, int H, int W, int C, const ImageGeom *g,
                          int S, int Cout, const float *mean, const float *std);
double image_sample_flops(int C, int S, int Cout);

// Plain bilinear resize of a float image, exactly
// F.interpolate(inp[None], (OH, OW), mode="bilinear", align_corners=False)[0].
// inp (C, H, W), out (C, OH, OW). 9 FLOPs per output value.
void resize_bilinear_forward(float *out, const float *inp, int C, int H, int W, int OH, int OW);

#endif

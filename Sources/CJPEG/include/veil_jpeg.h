#ifndef VEILGATE_CJPEG_H
#define VEILGATE_CJPEG_H
// libjpeg-turbo (apt: libjpeg62-turbo-dev) for VeilMedia only: a 4:2:0 picture straight from its planes to a JPEG in
// memory. Written in C because libjpeg reports errors by longjmp, which Swift cannot catch.
#include <stddef.h>
#include <stdint.h>

/// Encodes a width × height 4:2:0 picture (three planes and their strides) as a baseline JPEG of `quality` (1–100),
/// without colour conversion; `limitedRange` nonzero: the planes are video's limited range (luma 16–235), stretched
/// to the full range JPEG readers assume. On success returns 0 and sets *jpeg and *size: free *jpeg
/// with veil_jpeg_free. On failure returns -1 and writes libjpeg's message into `error` (at most errorSize bytes).
int veil_jpeg_encode_420(const uint8_t *luma, int lumaStride, const uint8_t *blue, int blueStride,
                         const uint8_t *red, int redStride, int width, int height, int limitedRange,
                         int quality, unsigned char **jpeg, unsigned long *size, char *error, size_t errorSize);

void veil_jpeg_free(unsigned char *jpeg);

#endif

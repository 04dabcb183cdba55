#ifndef VISIONFLEET_VFIMAGE_H
#define VISIONFLEET_VFIMAGE_H
// PNG (libpng) and JPEG (TurboJPEG) decode/encode behind plain C calls: libpng's setjmp error
// handling stays on this side. Decoded pixels are 8-bit, interleaved, rows top to bottom;
// 16-bit PNG samples are scaled to 8 bits, palettes and low bit depths expanded.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int width;
    int height;
    int channels;      // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int bit_depth;     // of the source file (8 or 16 for PNG, 8 for JPEG)
    uint8_t *pixels;   // width * height * channels bytes, free with vfi_free
} vfi_image;

// Return codes.
enum { VFI_OK = 0, VFI_CORRUPT = 1, VFI_TRUNCATED = 2, VFI_ZERO_SIZE = 3, VFI_TOO_LARGE = 4, VFI_NO_MEMORY = 5 };

/// Decodes a PNG file held in memory. On failure `error` holds a message.
int vfi_png_decode(const uint8_t *data, size_t size, vfi_image *out, char *error, size_t error_len);
/// Encodes 8-bit pixels (1–4 channels) as PNG into a malloc'd buffer (free with vfi_free).
int vfi_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *out_size,
                   char *error, size_t error_len);
/// Decodes a JPEG (baseline or progressive, gray or colour) to gray (channels 1) or RGB (3).
int vfi_jpeg_decode(const uint8_t *data, size_t size, vfi_image *out, char *error, size_t error_len);
/// Encodes 8-bit gray or RGB pixels as JPEG at `quality` (1–100).
int vfi_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                    size_t *out_size, char *error, size_t error_len);
void vfi_free(void *pointer);

#ifdef __cplusplus
}
#endif
#endif

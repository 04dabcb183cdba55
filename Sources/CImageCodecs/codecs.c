#include "vfimage.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

// Images beyond this many pixels are refused before any allocation (a 16k x 16k photo).
static const uint64_t kMaxPixels = 268435456ULL;

static void set_error(char *error, size_t len, const char *message) {
    if (error && len) snprintf(error, len, "%s", message);
}

// ---- PNG ----------------------------------------------------------------------------------

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
    char message[256];
} png_source;

static void png_read_bytes(png_structp png, png_bytep out, png_size_t count) {
    png_source *src = (png_source *)png_get_io_ptr(png);
    if (src->offset + count > src->size) {
        src->truncated = 1;
        png_error(png, "file ends early (truncated)");
    }
    memcpy(out, src->data + src->offset, count);
    src->offset += count;
}

static void png_on_error(png_structp png, png_const_charp message) {
    png_source *src = (png_source *)png_get_error_ptr(png);
    if (src) snprintf(src->message, sizeof src->message, "%s", message);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp message) { (void)png; (void)message; }

int vfi_png_decode(const uint8_t *data, size_t size, vfi_image *out, char *error, size_t error_len) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        set_error(error, error_len, "not a PNG signature");
        return VFI_CORRUPT;
    }
    // IHDR's width and height are checked here: libpng rejects zero with a generic error.
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
        uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
        if (w == 0 || h == 0) {
            set_error(error, error_len, "zero-size image");
            return VFI_ZERO_SIZE;
        }
    }
    png_source src = {data, size, 0, 0, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    if (!png) return VFI_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return VFI_NO_MEMORY;
    }
    // Everything the longjmp may skip lives in volatile locals.
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    int code = VFI_CORRUPT;
    if (setjmp(png_jmpbuf(png))) {
        set_error(error, error_len, src.message[0] ? src.message : "corrupt PNG");
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return src.truncated ? VFI_TRUNCATED : code;
    }
    png_set_read_fn(png, &src, png_read_bytes);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0;
    png_get_IHDR(png, info, &width, &height, &depth, &color, NULL, NULL, NULL);
    if (width == 0 || height == 0) {
        set_error(error, error_len, "zero-size image");
        png_destroy_read_struct(&png, &info, NULL);
        return VFI_ZERO_SIZE;
    }
    if ((uint64_t)width * height > kMaxPixels) {
        set_error(error, error_len, "image larger than 268,435,456 pixels");
        png_destroy_read_struct(&png, &info, NULL);
        return VFI_TOO_LARGE;
    }
    if (depth == 16) png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != (size_t)width * channels) {
        set_error(error, error_len, "unexpected row layout");
        png_destroy_read_struct(&png, &info, NULL);
        return VFI_CORRUPT;
    }
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return VFI_NO_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    out->bit_depth = depth;
    out->pixels = pixels;
    return VFI_OK;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
} png_sink;

static void png_write_bytes(png_structp png, png_bytep bytes, png_size_t count) {
    png_sink *sink = (png_sink *)png_get_io_ptr(png);
    if (sink->size + count > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 4096;
        while (capacity < sink->size + count) capacity *= 2;
        uint8_t *grown = realloc(sink->data, capacity);
        if (!grown) {
            sink->failed = 1;
            png_error(png, "out of memory");
        }
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, bytes, count);
    sink->size += count;
}

static void png_flush_noop(png_structp png) { (void)png; }

int vfi_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *out_size,
                   char *error, size_t error_len) {
    static const int color_types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
        set_error(error, error_len, "zero-size image");
        return VFI_ZERO_SIZE;
    }
    if (channels < 1 || channels > 4) {
        set_error(error, error_len, "PNG holds 1 to 4 channels");
        return VFI_CORRUPT;
    }
    png_source messages = {NULL, 0, 0, 0, {0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &messages, png_on_error, png_on_warning);
    if (!png) return VFI_NO_MEMORY;
    png_infop info = png_create_info_struct(png);
    png_sink sink = {NULL, 0, 0, 0};
    if (!info || setjmp(png_jmpbuf(png))) {
        set_error(error, error_len, messages.message[0] ? messages.message : "PNG encode failed");
        free(sink.data);
        png_destroy_write_struct(&png, &info);
        return sink.failed ? VFI_NO_MEMORY : VFI_CORRUPT;
    }
    png_set_write_fn(png, &sink, png_write_bytes, png_flush_noop);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * width * channels));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = sink.data;
    *out_size = sink.size;
    return VFI_OK;
}

// ---- JPEG ---------------------------------------------------------------------------------

int vfi_jpeg_decode(const uint8_t *data, size_t size, vfi_image *out, char *error, size_t error_len) {
    memset(out, 0, sizeof *out);
    if (size < 3 || data[0] != 0xFF || data[1] != 0xD8) {
        set_error(error, error_len, "not a JPEG (no SOI marker)");
        return VFI_CORRUPT;
    }
    tjhandle handle = tjInitDecompress();
    if (!handle) return VFI_NO_MEMORY;
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(handle, data, (unsigned long)size, &width, &height, &subsampling, &colorspace) != 0) {
        set_error(error, error_len, tjGetErrorStr2(handle));
        tjDestroy(handle);
        return VFI_CORRUPT;
    }
    if (width <= 0 || height <= 0) {
        set_error(error, error_len, "zero-size image");
        tjDestroy(handle);
        return VFI_ZERO_SIZE;
    }
    if ((uint64_t)width * height > kMaxPixels) {
        set_error(error, error_len, "image larger than 268,435,456 pixels");
        tjDestroy(handle);
        return VFI_TOO_LARGE;
    }
    int gray = colorspace == TJCS_GRAY;
    int channels = gray ? 1 : 3;
    uint8_t *pixels = malloc((size_t)width * height * channels);
    if (!pixels) {
        tjDestroy(handle);
        return VFI_NO_MEMORY;
    }
    int rc = tjDecompress2(handle, data, (unsigned long)size, pixels, width, 0, height, gray ? TJPF_GRAY : TJPF_RGB,
                           TJFLAG_ACCURATEDCT);
    if (rc != 0) {
        const char *message = tjGetErrorStr2(handle);
        int warning = tjGetErrorCode(handle) == TJERR_WARNING;
        // A missing end of data is a warning to libjpeg (it pads with grey); we call it truncated.
        if (!warning || strstr(message, "Premature end") || strstr(message, "premature end")) {
            set_error(error, error_len, message);
            int code = warning ? VFI_TRUNCATED : VFI_CORRUPT;
            free(pixels);
            tjDestroy(handle);
            return code;
        }
    }
    tjDestroy(handle);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = 8;
    out->pixels = pixels;
    return VFI_OK;
}

int vfi_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality, uint8_t **out,
                    size_t *out_size, char *error, size_t error_len) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0) {
        set_error(error, error_len, "zero-size image");
        return VFI_ZERO_SIZE;
    }
    if (channels != 1 && channels != 3) {
        set_error(error, error_len, "JPEG encodes gray or RGB");
        return VFI_CORRUPT;
    }
    tjhandle handle = tjInitCompress();
    if (!handle) return VFI_NO_MEMORY;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    int rc = tjCompress2(handle, pixels, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB, &buffer, &length,
                         channels == 1 ? TJSAMP_GRAY : TJSAMP_420, quality < 1 ? 1 : (quality > 100 ? 100 : quality),
                         TJFLAG_ACCURATEDCT);
    if (rc != 0) {
        set_error(error, error_len, tjGetErrorStr2(handle));
        tjFree(buffer);
        tjDestroy(handle);
        return VFI_CORRUPT;
    }
    tjDestroy(handle);
    // Hand back a malloc'd copy so one free function serves both codecs.
    uint8_t *copy = malloc(length);
    if (!copy) {
        tjFree(buffer);
        return VFI_NO_MEMORY;
    }
    memcpy(copy, buffer, length);
    tjFree(buffer);
    *out = copy;
    *out_size = length;
    return VFI_OK;
}

void vfi_free(void *pointer) { free(pointer); }

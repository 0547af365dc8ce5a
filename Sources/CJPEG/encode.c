// A 4:2:0 picture to JPEG with libjpeg-turbo's raw-data path: its SIMD DCT and Huffman coding, no colour
// conversion and, when the width is a multiple of 16 (720p, 1080p), no copy of the picture: rows are handed to
// libjpeg as pointers into the planes. Measured on 720p alert snapshots at four cameras: about 3.5 ms, where
// FFmpeg's MJPEG encoder took 6–9 ms.
#include "veil_jpeg.h"

#include <setjmp.h>
#include <stdio.h>  // before jpeglib.h, which uses FILE
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>

struct veil_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf escape;
    char *message;
    size_t messageSize;
    // Where jpeg_mem_dest keeps the JPEG: in this struct, not in locals, so they are still right after a longjmp. It
    // writes them when it starts and again when it finishes (term_destination); a buffer it grew in between, freeing
    // the old one, is known only to it until then.
    unsigned char *buffer;
    unsigned long size;
    // Rows padded to whole blocks (see below), freed on either path.
    unsigned char *scratch;
};

static void veil_jpeg_error_exit(j_common_ptr info) {
    struct veil_jpeg_error *error = (struct veil_jpeg_error *)info->err;
    if (error->message && error->messageSize > 0) {
        char text[JMSG_LENGTH_MAX];
        (*info->err->format_message)(info, text);
        snprintf(error->message, error->messageSize, "%s", text);
    }
    longjmp(error->escape, 1);
}

// libjpeg's warnings (corrupt data and the like) concern decoding; an encoder has nothing to say.
static void veil_jpeg_silent(j_common_ptr info) { (void)info; }

// Row `row` of a plane `rows` tall, the last row repeated below the picture (libjpeg asks for whole 16-row groups).
static JSAMPROW veil_row(const uint8_t *plane, int stride, int row, int rows) {
    return (JSAMPROW)(plane + (size_t)stride * (size_t)(row < rows ? row : rows - 1));
}

// `row`'s `width` pixels copied into `padded` (through `table` when there is one), the last one repeated to
// `paddedWidth`.
static JSAMPROW veil_padded(unsigned char *padded, JSAMPROW row, int width, int paddedWidth,
                            const unsigned char *table) {
    if (table) {
        for (int column = 0; column < width; column++) padded[column] = table[row[column]];
    } else {
        memcpy(padded, row, (size_t)width);
    }
    memset(padded + width, padded[width - 1], (size_t)(paddedWidth - width));
    return padded;
}

// Video's limited range (luma 16–235, chroma 16–240 around 128) stretched to the full range a JPEG file's reader
// assumes: without it a camera's blacks come out dark grey and its whites light grey.
static void veil_full_range(unsigned char luma[256], unsigned char chroma[256]) {
    for (int level = 0; level < 256; level++) {
        const int y = ((level - 16) * 255 + 109) / 219;
        const int c = 128 + ((level - 128) * 255 + (level >= 128 ? 112 : -112)) / 224;
        luma[level] = (unsigned char)(y < 0 ? 0 : y > 255 ? 255 : y);
        chroma[level] = (unsigned char)(c < 0 ? 0 : c > 255 ? 255 : c);
    }
}

int veil_jpeg_encode_420(const uint8_t *luma, int lumaStride, const uint8_t *blue, int blueStride,
                         const uint8_t *red, int redStride, int width, int height, int limitedRange,
                         int quality, unsigned char **jpeg, unsigned long *size, char *error, size_t errorSize) {
    if (!luma || !blue || !red || !jpeg || !size || width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        if (error && errorSize > 0) snprintf(error, errorSize, "invalid picture");
        return -1;
    }
    *jpeg = NULL;
    *size = 0;
    // libjpeg reads whole 8 × 8 blocks: rows as wide as the picture rounded up to 16 (luma) and 8 (chroma) pixels.
    // Past the picture a frame's row holds whatever its buffer held before — stale pixels, perhaps of an unredacted
    // picture — so a picture whose width is not a multiple of 16 goes through rows of its own, the last pixel
    // repeated. So does a limited-range picture, its levels stretched on the way.
    const int chromaWidth = (width + 1) / 2, chromaHeight = (height + 1) / 2;
    const int paddedWidth = (width + 15) / 16 * 16, paddedChroma = paddedWidth / 2;
    unsigned char lumaTable[256], chromaTable[256];
    const unsigned char *lumaLevels = NULL, *chromaLevels = NULL;
    if (limitedRange) {
        veil_full_range(lumaTable, chromaTable);
        lumaLevels = lumaTable;
        chromaLevels = chromaTable;
    }
    unsigned char *scratch = NULL;
    if (paddedWidth != width || limitedRange) {
        scratch = malloc((size_t)paddedWidth * 16 + (size_t)paddedChroma * 16);
        if (!scratch) {
            if (error && errorSize > 0) snprintf(error, errorSize, "out of memory");
            return -1;
        }
    }
    struct jpeg_compress_struct info;
    struct veil_jpeg_error failure;
    memset(&info, 0, sizeof info);
    memset(&failure, 0, sizeof failure);
    info.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = veil_jpeg_error_exit;
    failure.manager.output_message = veil_jpeg_silent;
    failure.message = error;
    failure.messageSize = errorSize;
    failure.scratch = scratch;
    if (setjmp(failure.escape)) {
        // Fetch the buffer as it is now (see above), so that the one libjpeg holds is freed, and once.
        if (failure.buffer && info.dest) info.dest->term_destination((j_compress_ptr)&info);
        jpeg_destroy_compress(&info);
        free(failure.buffer);
        free(failure.scratch);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &failure.buffer, &failure.size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_YCbCr;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    info.raw_data_in = TRUE;
    info.comp_info[0].h_samp_factor = 2;
    info.comp_info[0].v_samp_factor = 2;
    info.comp_info[1].h_samp_factor = 1;
    info.comp_info[1].v_samp_factor = 1;
    info.comp_info[2].h_samp_factor = 1;
    info.comp_info[2].v_samp_factor = 1;
    jpeg_start_compress(&info, TRUE);
    JSAMPROW lumaRows[16], blueRows[8], redRows[8];
    JSAMPARRAY planes[3] = {lumaRows, blueRows, redRows};
    while (info.next_scanline < info.image_height) {
        const int top = (int)info.next_scanline;
        for (int row = 0; row < 16; row++) {
            lumaRows[row] = veil_row(luma, lumaStride, top + row, height);
            if (scratch) {
                lumaRows[row] =
                    veil_padded(scratch + (size_t)paddedWidth * row, lumaRows[row], width, paddedWidth, lumaLevels);
            }
        }
        for (int row = 0; row < 8; row++) {
            blueRows[row] = veil_row(blue, blueStride, top / 2 + row, chromaHeight);
            redRows[row] = veil_row(red, redStride, top / 2 + row, chromaHeight);
            if (scratch) {
                unsigned char *chroma = scratch + (size_t)paddedWidth * 16;
                blueRows[row] = veil_padded(
                    chroma + (size_t)paddedChroma * row, blueRows[row], chromaWidth, paddedChroma, chromaLevels);
                redRows[row] = veil_padded(
                    chroma + (size_t)paddedChroma * (8 + row), redRows[row], chromaWidth, paddedChroma, chromaLevels);
            }
        }
        jpeg_write_raw_data(&info, planes, 16);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    free(scratch);
    *jpeg = failure.buffer;
    *size = failure.size;
    return 0;
}

void veil_jpeg_free(unsigned char *jpeg) { free(jpeg); }

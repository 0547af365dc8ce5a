#ifndef VEILGATE_CFFMPEG_SHIM_H
#define VEILGATE_CFFMPEG_SHIM_H
// FFmpeg 5.1 (Debian 12: libavformat-dev, libavcodec-dev, libswscale-dev, libavutil-dev) for VeilMedia only.
// Macros Swift cannot import are wrapped here as static inline functions.
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/dict.h>
#include <errno.h>

static inline int veil_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int veil_averror_eof(void) { return AVERROR_EOF; }
static inline int veil_averror_eio(void) { return AVERROR(EIO); }
static inline int64_t veil_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational veil_time_base_q(void) { return AV_TIME_BASE_Q; }
static inline void veil_silence_ffmpeg_logs(void) { av_log_set_level(AV_LOG_QUIET); }

/// The text of an FFmpeg error code (never contains URLs or credentials: it is the code's description).
static inline void veil_error_text(int code, char *buffer, size_t size) {
    if (av_strerror(code, buffer, size) < 0) { snprintf(buffer, size, "error %d", code); }
}

static inline AVStream *veil_stream(AVFormatContext *context, unsigned int index) {
    return index < context->nb_streams ? context->streams[index] : NULL;
}

/// The energy of `count` samples of a decoded audio frame from sample `offset` on, for loudness: adds the squares of
/// every channel's samples (scaled to [-1, 1]) to `sum_squares` and raises `peak` to the largest magnitude; returns the
/// samples read per channel, or -1 for a sample format it does not read.
static inline int veil_audio_energy(const AVFrame *frame, int offset, int count, double *sum_squares, double *peak) {
    const int channels = frame->ch_layout.nb_channels;
    if (channels <= 0 || offset < 0 || count < 0 || offset + count > frame->nb_samples) return -1;
    const int planar = av_sample_fmt_is_planar((enum AVSampleFormat)frame->format);
    const enum AVSampleFormat packed = av_get_packed_sample_fmt((enum AVSampleFormat)frame->format);
    const int planes = planar ? channels : 1, stride = planar ? 1 : channels;
    double sum = 0, top = *peak;
    for (int plane = 0; plane < planes; ++plane) {
        const uint8_t *data = frame->extended_data[plane];
        for (int i = offset * stride; i < (offset + count) * stride; ++i) {
            double value;
            switch (packed) {
            case AV_SAMPLE_FMT_U8: value = (((const uint8_t *)data)[i] - 128) / 128.0; break;
            case AV_SAMPLE_FMT_S16: value = ((const int16_t *)data)[i] / 32768.0; break;
            case AV_SAMPLE_FMT_S32: value = ((const int32_t *)data)[i] / 2147483648.0; break;
            case AV_SAMPLE_FMT_FLT: value = ((const float *)data)[i]; break;
            case AV_SAMPLE_FMT_DBL: value = ((const double *)data)[i]; break;
            default: return -1;
            }
            sum += value * value;
            const double magnitude = value < 0 ? -value : value;
            if (magnitude > top) top = magnitude;
        }
    }
    *sum_squares += sum;
    *peak = top;
    return count;
}

#endif

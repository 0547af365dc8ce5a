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

#endif

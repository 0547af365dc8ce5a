#ifndef VEILGATE_VISION_H
#define VEILGATE_VISION_H
// A plain C face over the OpenCV 4.6 C++ detectors VeilVision uses: opaque handles, no C++ types, every
// exception caught and turned into an error message. Images come in as YUV 4:2:0 planes.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct veil_image {
    const uint8_t *y;
    const uint8_t *u;
    const uint8_t *v;
    int y_stride;
    int u_stride;
    int v_stride;
    int width;
    int height;
} veil_image;

/// How many threads OpenCV may use (1 for a pipeline that must stay on one core; 0 for OpenCV's default).
void veil_vision_set_threads(int threads);

/// One detection in image pixels: corners and confidence.
typedef struct veil_box {
    float x1, y1, x2, y2, score;
} veil_box;

/// CenterFace (ONNX) through cv::dnn. One network per input size is kept (OpenCV 4.6 fixes layer shapes on the
/// first forward pass).
typedef struct veil_face_net veil_face_net;
veil_face_net *veil_face_net_open(const char *onnx_path, char *error, size_t error_size);
void veil_face_net_close(veil_face_net *net);
/// Detects faces; `input_width` is the network's input width (a multiple of 32; height follows the aspect).
/// Returns the number of boxes written (at most `capacity`), or -1 with `error` set.
int veil_face_net_detect(veil_face_net *net, veil_image image, int input_width, float threshold, veil_box *boxes,
                         int capacity, char *error, size_t error_size);

/// YuNet 2023mar (ONNX) through cv::dnn, decoded by hand: OpenCV 4.6's FaceDetectorYN knows only the older heads. The
/// picture is scaled to `input_width` (aspect kept) and padded to multiples of 32; one network per padded size is kept.
typedef struct veil_yunet veil_yunet;
veil_yunet *veil_yunet_open(const char *onnx_path, char *error, size_t error_size);
void veil_yunet_close(veil_yunet *net);
int veil_yunet_detect(veil_yunet *net, veil_image image, int input_width, float threshold, veil_box *boxes, int capacity,
                      char *error, size_t error_size);

/// OpenCV's built-in HOG people detector (no model file).
typedef struct veil_people_detector veil_people_detector;
veil_people_detector *veil_people_detector_open(char *error, size_t error_size);
void veil_people_detector_close(veil_people_detector *detector);
/// `scale` < 1 downsamples before detecting (faster, misses smaller people).
int veil_people_detector_detect(veil_people_detector *detector, veil_image image, float scale, veil_box *boxes,
                                int capacity, char *error, size_t error_size);

/// A Haar cascade (e.g. licence plates from Debian's opencv-data).
typedef struct veil_cascade veil_cascade;
veil_cascade *veil_cascade_open(const char *xml_path, char *error, size_t error_size);
void veil_cascade_close(veil_cascade *cascade);
int veil_cascade_detect(veil_cascade *cascade, veil_image image, int min_width, veil_box *boxes, int capacity,
                        char *error, size_t error_size);

/// Licence plates with PP-OCRv4's text detector (ONNX, converted for OpenCV 4.6) and DB post-processing: text
/// that is plate-shaped (aspect 1.8–6, short side ≥ 10 px and ≤ 25 % of the image height, tilt ≤ 20°) on a plate's
/// colours (a white, grey or yellow ground), joined with the text beside it on the same line (the network may split
/// a plate's characters into groups). Boxes are axis-aligned, grown by `margin` × the text's short side on every
/// side (the text detector boxes the characters; a plate's frame and country band lie around them).
typedef struct veil_text_net veil_text_net;
veil_text_net *veil_text_net_open(const char *onnx_path, char *error, size_t error_size);
void veil_text_net_close(veil_text_net *net);
/// `long_side`: the network input's long side (sides rounded to multiples of 32; 640 is the tested choice).
int veil_text_net_detect(veil_text_net *net, veil_image image, int long_side, float margin, veil_box *boxes,
                         int capacity, char *error, size_t error_size);

/// PP-OCRv4's text recogniser (ONNX, converted for OpenCV 4.6 with its input fixed at 1×3×48×320): the line of text
/// in `box` is scaled to 48 px high (at most 320 wide) and read greedily (CTC). Writes the characters as indices into
/// the model's character list, 1-based (0 is CTC's blank and never written), with each one's probability; returns
/// how many (at most `capacity`), or -1 with `error` set.
typedef struct veil_text_reader veil_text_reader;
veil_text_reader *veil_text_reader_open(const char *onnx_path, char *error, size_t error_size);
void veil_text_reader_close(veil_text_reader *reader);
int veil_text_reader_read(veil_text_reader *reader, veil_image image, veil_box box, int32_t *indices,
                          float *probabilities, int capacity, char *error, size_t error_size);

/// YOLOv3-tiny (darknet's cfg and weights): vehicles — COCO's car, motorbike, bus and truck — as boxes in the image's
/// pixels. `input_size`: the square the picture is stretched to (a multiple of 32; 416 as trained).
typedef struct veil_vehicle_net veil_vehicle_net;
veil_vehicle_net *veil_vehicle_net_open(const char *cfg_path, const char *weights_path, char *error, size_t error_size);
void veil_vehicle_net_close(veil_vehicle_net *net);
int veil_vehicle_net_detect(veil_vehicle_net *net, veil_image image, int input_size, float threshold, veil_box *boxes,
                            int capacity, char *error, size_t error_size);

/// SSDLite-MobileNetV2 pedestrian detector (TensorFlow frozen graph + OpenCV text graph).
typedef struct veil_ssd_net veil_ssd_net;
veil_ssd_net *veil_ssd_net_open(const char *pb_path, const char *pbtxt_path, char *error, size_t error_size);
void veil_ssd_net_close(veil_ssd_net *net);
/// `input_width` × `input_height`: the network input (400×300 suits 4:3 CCTV). Always runs on the whole frame; with
/// `tiles` 2 or more, also on the crops of a tiles × tiles grid of overlapping crops (for small people in wide shots)
/// whose bit is set in `tile_mask` (bit row × tiles + column), merged by NMS. Returns person boxes ≥ `threshold`.
int veil_ssd_net_detect(veil_ssd_net *net, veil_image image, int input_width, int input_height, int tiles,
                        unsigned tile_mask, float threshold, veil_box *boxes, int capacity, char *error,
                        size_t error_size);

#ifdef __cplusplus
}
#endif
#endif

// OpenCV behind a C header (see include/veil_vision.h). Every entry point catches every exception.
#include "veil_vision.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

void set_error(char *error, size_t size, const char *message) {
    if (error && size > 0) {
        std::snprintf(error, size, "%s", message);
    }
}

/// The image's luma plane as a Mat without copying.
cv::Mat luma(const veil_image &image) {
    return cv::Mat(image.height, image.width, CV_8UC1, const_cast<uint8_t *>(image.y), image.y_stride);
}

/// The image as packed RGB, scaled to `size` (one conversion per detection call). When shrinking, the Y, U and V
/// planes are scaled first and only the small image is converted: a 720p frame costs a quarter of the work.
/// OpenCV's I420 conversion needs even sides: an odd last column or row is left out (one pixel).
cv::Mat rgb_scaled(const veil_image &image, cv::Size size) {
    const int width = image.width & ~1, height = image.height & ~1;
    const bool shrink = size.width <= width && size.height <= height && size != cv::Size(width, height);
    const int out_width = shrink ? (size.width & ~1) : width, out_height = shrink ? (size.height & ~1) : height;
    cv::Mat i420(out_height * 3 / 2, out_width, CV_8UC1);
    const int half_width = out_width / 2, half_height = out_height / 2;
    cv::Mat y_out(out_height, out_width, CV_8UC1, i420.ptr(0));
    cv::Mat u_out(half_height, half_width, CV_8UC1, i420.ptr(out_height));
    cv::Mat v_out(half_height, half_width, CV_8UC1, i420.ptr(out_height) + half_width * half_height);
    const cv::Mat y_in(height, width, CV_8UC1, const_cast<uint8_t *>(image.y), image.y_stride);
    const cv::Mat u_in(height / 2, width / 2, CV_8UC1, const_cast<uint8_t *>(image.u), image.u_stride);
    const cv::Mat v_in(height / 2, width / 2, CV_8UC1, const_cast<uint8_t *>(image.v), image.v_stride);
    if (shrink) {
        cv::resize(y_in, y_out, y_out.size(), 0, 0, cv::INTER_AREA);
        cv::resize(u_in, u_out, u_out.size(), 0, 0, cv::INTER_AREA);
        cv::resize(v_in, v_out, v_out.size(), 0, 0, cv::INTER_AREA);
    } else {
        y_in.copyTo(y_out);
        u_in.copyTo(u_out);
        v_in.copyTo(v_out);
    }
    cv::Mat rgb;
    cv::cvtColor(i420, rgb, cv::COLOR_YUV2RGB_I420);
    if (rgb.size() != size) {
        cv::Mat scaled;
        cv::resize(rgb, scaled, size, 0, 0, size.area() < rgb.size().area() ? cv::INTER_AREA : cv::INTER_LINEAR);
        return scaled;
    }
    return rgb;
}

/// Runs `body`, turning any exception into `fallback` and an error message: nothing C++ crosses the C header.
template <typename Result, typename Body>
Result guarded(char *error, size_t error_size, Result fallback, Body body) {
    try {
        return body();
    } catch (const std::exception &exception) {
        set_error(error, error_size, exception.what());
    } catch (...) {
        set_error(error, error_size, "unknown OpenCV error");
    }
    return fallback;
}

int copy_boxes(const std::vector<veil_box> &found, veil_box *boxes, int capacity) {
    const int count = std::min<int>(capacity, static_cast<int>(found.size()));
    for (int index = 0; index < count; ++index) boxes[index] = found[index];
    return count;
}

float iou(const veil_box &a, const veil_box &b) {
    const float x1 = std::max(a.x1, b.x1), y1 = std::max(a.y1, b.y1);
    const float x2 = std::min(a.x2, b.x2), y2 = std::min(a.y2, b.y2);
    const float overlap = std::max(0.f, x2 - x1) * std::max(0.f, y2 - y1);
    const float total = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - overlap;
    return total > 0 ? overlap / total : 0;
}

std::vector<veil_box> non_maximum_suppression(std::vector<veil_box> boxes, float threshold) {
    std::sort(boxes.begin(), boxes.end(), [](const veil_box &a, const veil_box &b) { return a.score > b.score; });
    std::vector<veil_box> kept;
    for (const auto &box : boxes) {
        bool overlaps = false;
        for (const auto &other : kept) {
            if (iou(box, other) >= threshold) { overlaps = true; break; }
        }
        if (!overlaps) kept.push_back(box);
    }
    return kept;
}

}  // namespace

extern "C" void veil_vision_set_threads(int threads) {
    try {
        cv::setNumThreads(threads > 0 ? threads : -1);
    } catch (...) {
    }
}

struct veil_face_net {
    std::string path;
    std::map<std::pair<int, int>, cv::dnn::Net> networks;
};

extern "C" veil_face_net *veil_face_net_open(const char *onnx_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_face_net *>(nullptr), [&]() -> veil_face_net * {
            auto *net = new veil_face_net{onnx_path, {}};
            // Load once now so a missing or broken model is reported at open, not at the first frame.
            net->networks[{0, 0}] = cv::dnn::readNetFromONNX(onnx_path);
            return net;
    });
}

extern "C" void veil_face_net_close(veil_face_net *net) { delete net; }

extern "C" int veil_face_net_detect(veil_face_net *net, veil_image image, int input_width, float threshold,
                                    veil_box *boxes, int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!net || image.width <= 0 || image.height <= 0) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            const int width = std::max(32, (input_width + 31) / 32 * 32);
            const int height = std::max(32, static_cast<int>(std::ceil(width * double(image.height) / image.width / 32.0)) * 32);
            const float scale_x = float(width) / image.width, scale_y = float(height) / image.height;
            auto key = std::make_pair(width, height);
            auto found = net->networks.find(key);
            if (found == net->networks.end()) {
                found = net->networks.emplace(key, cv::dnn::readNetFromONNX(net->path)).first;
            }
            cv::dnn::Net &dnn = found->second;
            cv::Mat rgb = rgb_scaled(image, cv::Size(width, height));
            cv::Mat blob = cv::dnn::blobFromImage(rgb, 1.0, cv::Size(width, height), cv::Scalar(0, 0, 0), false, false);
            dnn.setInput(blob);
            std::vector<cv::Mat> outputs;
            dnn.forward(outputs, std::vector<cv::String>{"537", "538", "539", "540"});
            const cv::Mat &heatmap = outputs[0], &scale = outputs[1], &offset = outputs[2];
            const int rows = heatmap.size[2], columns = heatmap.size[3];
            const float *heat = heatmap.ptr<float>();
            const float *scale0 = scale.ptr<float>(), *scale1 = scale0 + rows * columns;
            const float *offset0 = offset.ptr<float>(), *offset1 = offset0 + rows * columns;
            std::vector<veil_box> candidates;
            for (int row = 0; row < rows; ++row) {
                for (int column = 0; column < columns; ++column) {
                    const int at = row * columns + column;
                    if (heat[at] <= threshold) continue;
                    const float s0 = std::exp(scale0[at]) * 4, s1 = std::exp(scale1[at]) * 4;
                    const float x1 = std::max(0.f, (column + offset1[at] + 0.5f) * 4 - s1 / 2);
                    const float y1 = std::max(0.f, (row + offset0[at] + 0.5f) * 4 - s0 / 2);
                    veil_box box{std::min(x1, float(width)), std::min(y1, float(height)), std::min(x1 + s1, float(width)),
                                 std::min(y1 + s0, float(height)), heat[at]};
                    box.x1 /= scale_x; box.x2 /= scale_x; box.y1 /= scale_y; box.y2 /= scale_y;
                    candidates.push_back(box);
                }
            }
            return copy_boxes(non_maximum_suppression(candidates, 0.3f), boxes, capacity);
    });
}

struct veil_people_detector {
    cv::HOGDescriptor hog;
};

extern "C" veil_people_detector *veil_people_detector_open(char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_people_detector *>(nullptr), [&]() -> veil_people_detector * {
            auto *detector = new veil_people_detector{};
            detector->hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
            return detector;
    });
}

extern "C" void veil_people_detector_close(veil_people_detector *detector) { delete detector; }

extern "C" int veil_people_detector_detect(veil_people_detector *detector, veil_image image, float scale,
                                           veil_box *boxes, int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            cv::Mat gray = luma(image);
            cv::Mat input = gray;
            // Below 1 downsamples (faster); above 1 upsamples, so people shorter than the 128-px window are found.
            if (scale > 0 && scale != 1) {
                cv::resize(gray, input, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
            }
            const float factor = (scale > 0) ? scale : 1.f;
            std::vector<cv::Rect> found;
            std::vector<double> weights;
            detector->hog.detectMultiScale(input, found, weights, 0, cv::Size(4, 4), cv::Size(8, 8), 1.05, 2);
            std::vector<veil_box> result;
            for (size_t index = 0; index < found.size(); ++index) {
                const cv::Rect &r = found[index];
                // Weak SVM responses are mostly windows and railings, not people.
                if (index < weights.size() && weights[index] < 0.3) continue;
                result.push_back({r.x / factor, r.y / factor, (r.x + r.width) / factor, (r.y + r.height) / factor,
                                  index < weights.size() ? float(weights[index]) : 1.f});
            }
            return copy_boxes(result, boxes, capacity);
    });
}

struct veil_cascade {
    cv::CascadeClassifier classifier;
};

extern "C" veil_cascade *veil_cascade_open(const char *xml_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_cascade *>(nullptr), [&]() -> veil_cascade * {
            auto *cascade = new veil_cascade{};
            if (!cascade->classifier.load(xml_path)) {
                delete cascade;
                set_error(error, error_size, "cannot load the cascade file");
                return nullptr;
            }
            return cascade;
    });
}

extern "C" void veil_cascade_close(veil_cascade *cascade) { delete cascade; }

extern "C" int veil_cascade_detect(veil_cascade *cascade, veil_image image, int min_width, veil_box *boxes,
                                   int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            cv::Mat gray = luma(image);
            cv::Mat equalised;
            cv::equalizeHist(gray, equalised);
            std::vector<cv::Rect> found;
            cascade->classifier.detectMultiScale(equalised, found, 1.1, 3, 0, cv::Size(std::max(8, min_width), std::max(4, min_width / 4)));
            std::vector<veil_box> result;
            for (const auto &r : found) result.push_back({float(r.x), float(r.y), float(r.x + r.width), float(r.y + r.height), 1.f});
            return copy_boxes(result, boxes, capacity);
    });
}

// MARK: PP-OCRv4 text detector → plate-like boxes

struct veil_text_net {
    std::string path;
    // OpenCV 4.6 gives NaN once a net that ran at one input size is fed another: one net per size.
    std::map<std::pair<int, int>, cv::dnn::Net> networks;
};

extern "C" veil_text_net *veil_text_net_open(const char *onnx_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_text_net *>(nullptr), [&]() -> veil_text_net * {
            auto *net = new veil_text_net{onnx_path, {}};
            net->networks[{0, 0}] = cv::dnn::readNetFromONNX(onnx_path);  // reports a missing or broken model now
            // The nets of the crops a small plate is looked at again in (text_net_detect: 2:1 at 128, 256, 512 or 640
            // across) are read now, with the model: read on a plate's first sighting, they held a camera up for a
            // second while it shared the cores with three others.
            for (int side : {128, 256, 512, 640}) {
                net->networks[{side, side / 2}] = cv::dnn::readNetFromONNX(onnx_path);
            }
            return net;
    });
}

extern "C" void veil_text_net_close(veil_text_net *net) { delete net; }

namespace {

/// Whether a text region has a licence plate's colours: its brighter half (the plate's ground)
/// white, grey or yellow (European, British and Dutch rear plates; retro-reflective plates under infrared light are
/// white too). Shirt prints, logos and signs on coloured grounds are text too, but no plate: they are not covered as
/// plates.
bool plate_coloured(const veil_image &image, cv::Rect region) {
    region &= cv::Rect(0, 0, image.width & ~1, image.height & ~1);
    if (region.width < 2 || region.height < 2) return false;
    std::vector<int> lumas;
    lumas.reserve(size_t(region.area()));
    for (int y = region.y; y < region.y + region.height; ++y) {
        for (int x = region.x; x < region.x + region.width; ++x) lumas.push_back(image.y[size_t(y) * image.y_stride + x]);
    }
    std::nth_element(lumas.begin(), lumas.begin() + lumas.size() / 2, lumas.end());
    const int median = lumas[lumas.size() / 2];
    double u_sum = 0, v_sum = 0;
    long count = 0;
    for (int y = region.y; y < region.y + region.height; ++y) {
        for (int x = region.x; x < region.x + region.width; ++x) {
            if (image.y[size_t(y) * image.y_stride + x] < median) continue;
            u_sum += image.u[size_t(y / 2) * image.u_stride + x / 2];
            v_sum += image.v[size_t(y / 2) * image.v_stride + x / 2];
            ++count;
        }
    }
    if (count == 0) return false;
    // Only the ground is asked about: dirt, shadow and a blue country band colour the characters' half of real plates.
    const double u = u_sum / count - 128, v = v_sum / count - 128;
    const bool neutral = std::fabs(u) + std::fabs(v) <= 40;
    const bool yellow = u < -28 && v >= 0 && v <= 40;
    return neutral || yellow;
}

/// A text region found by the text network: its rotated rectangle and axis-aligned hull in frame pixels.
struct Text {
    cv::RotatedRect box;
    cv::Rect2f hull;
    float score;
};

/// One pass of the text network over `region` of the image (even-aligned), its long side scaled to `long_side`.
std::vector<Text> text_pass(veil_text_net *net, const veil_image &image, cv::Rect region, int long_side) {
    region.x &= ~1;
    region.y &= ~1;
    region &= cv::Rect(0, 0, image.width & ~1, image.height & ~1);
    std::vector<Text> texts;
    if (region.width < 32 || region.height < 16) return texts;
    veil_image view = image;
    view.y = image.y + size_t(region.y) * image.y_stride + region.x;
    view.u = image.u + size_t(region.y / 2) * image.u_stride + region.x / 2;
    view.v = image.v + size_t(region.y / 2) * image.v_stride + region.x / 2;
    view.width = region.width;
    view.height = region.height;
    const double ratio = double(long_side) / std::max(view.width, view.height);
    const int width = std::max(32, int(std::lround(int(view.width * ratio) / 32.0)) * 32);
    const int height = std::max(32, int(std::lround(int(view.height * ratio) / 32.0)) * 32);
    auto key = std::make_pair(width, height);
    auto found = net->networks.find(key);
    if (found == net->networks.end()) found = net->networks.emplace(key, cv::dnn::readNetFromONNX(net->path)).first;
    cv::Mat rgb = rgb_scaled(view, cv::Size(width, height));
    // (x − 127.5) / 127.5 in BGR order, NCHW: what RapidOCR feeds the model.
    cv::Mat blob = cv::dnn::blobFromImage(rgb, 1.0 / 127.5, cv::Size(width, height), cv::Scalar(127.5, 127.5, 127.5), true, false);
    found->second.setInput(blob);
    cv::Mat output = found->second.forward();  // [1,1,H,W] probabilities (the graph ends in a sigmoid)
    cv::Mat probability(output.size[2], output.size[3], CV_32F, output.ptr<float>());
    cv::Mat bitmap = probability > 0.3f;
    cv::dilate(bitmap, bitmap, cv::Mat::ones(2, 2, CV_8U));
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    const double scale_x = double(view.width) / probability.cols, scale_y = double(view.height) / probability.rows;
    for (size_t index = 0; index < contours.size() && index < 1000; ++index) {
        cv::RotatedRect rect = cv::minAreaRect(contours[index]);
        if (std::min(rect.size.width, rect.size.height) < 3) continue;
        cv::Point2f corners[4];
        rect.points(corners);
        cv::Rect bounds = cv::boundingRect(std::vector<cv::Point2f>(corners, corners + 4)) &
                          cv::Rect(0, 0, probability.cols, probability.rows);
        if (bounds.empty()) continue;
        cv::Mat mask = cv::Mat::zeros(bounds.size(), CV_8U);
        std::vector<cv::Point> polygon;
        for (auto &corner : corners) polygon.emplace_back(int(corner.x - bounds.x), int(corner.y - bounds.y));
        cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{polygon}, cv::Scalar(1));
        const float score = float(cv::mean(probability(bounds), mask)[0]);
        if (score < 0.5f) continue;
        // DB "unclip": grow by area × 2 / perimeter on every side.
        const float w = rect.size.width, h = rect.size.height, grow = w * h * 2.0f / (2.f * (w + h));
        rect.size = cv::Size2f(w + 2 * grow, h + 2 * grow);
        rect.points(corners);
        std::vector<cv::Point2f> source;
        for (auto &corner : corners) {
            source.emplace_back(region.x + std::clamp(float(corner.x * scale_x), 0.f, float(view.width)),
                                region.y + std::clamp(float(corner.y * scale_y), 0.f, float(view.height)));
        }
        const cv::RotatedRect text = cv::minAreaRect(source);
        if (std::min(text.size.width, text.size.height) <= 0) continue;
        texts.push_back(Text{text, text.boundingRect2f(), score});
    }
    return texts;
}

/// Joins to `hull` the texts on its line: as tall (within 0.6–1.6×), overlapping it vertically, at most a line
/// height away.
/// The line is the text's own vertical extent (`line`), never the growing hull, so joining cannot creep from line
/// to line; a result no longer shaped like a plate (aspect under 1.8, or twice the line's height) is not taken.
void join_line(cv::Rect2f &hull, const cv::Rect2f &line, const std::vector<Text> &texts) {
    cv::Rect2f joined = hull;
    for (const Text &other : texts) {
        const float overlap = std::min(line.y + line.height, other.hull.y + other.hull.height) - std::max(line.y, other.hull.y);
        const float gap = std::max(other.hull.x - (joined.x + joined.width), joined.x - (other.hull.x + other.hull.width));
        const float ratio = other.hull.height / std::max(1.f, line.height);
        if (overlap >= 0.6f * std::min(line.height, other.hull.height) && ratio > 0.6f && ratio < 1.6f && gap <= line.height) {
            joined |= other.hull;
        }
    }
    if (joined.width >= 1.8f * joined.height && joined.height <= 2 * line.height) hull = joined;
}

/// The text detector's pass, keeping the licence plates: plate-shaped, plate-coloured text, with the rest of its
/// line. A plate small in the frame is looked at again in a crop around it at the network's full resolution: at
/// 640 px across a 2000 px photo, the network sees "4X4-WP" but not the "VW" before it.
int text_net_detect(veil_text_net *net, veil_image image, int long_side, float margin, veil_box *boxes, int capacity,
                    char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!net || image.width <= 0 || image.height <= 0 || long_side < 32) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            const std::vector<Text> texts = text_pass(net, image, cv::Rect(0, 0, image.width, image.height), long_side);
            const double downscale = double(std::max(image.width, image.height)) / long_side;
            std::vector<veil_box> plates;
            for (const Text &text : texts) {
                const float longer = std::max(text.box.size.width, text.box.size.height);
                const float shorter = std::min(text.box.size.width, text.box.size.height);
                float tilt = text.box.size.width >= text.box.size.height ? text.box.angle : text.box.angle - 90.f;
                tilt = std::fmod(tilt + 90.f + 360.f, 180.f) - 90.f;
                const bool plate_shaped = !(longer / shorter < 1.8f || longer / shorter > 6.0f || shorter < 10.f ||
                                            shorter > 0.25f * image.height || std::fabs(tilt) > 20.f);
                if (!plate_shaped || !plate_coloured(image, text.box.boundingRect())) continue;
                cv::Rect2f hull = text.hull;
                join_line(hull, text.hull, texts);
                if (downscale > 1.5) {
                    // The plate's surroundings at (up to) full resolution: as wide as a whole plate could reach, 2:1,
                    // moved inside the frame rather than cut, and scaled to one of a few input sizes — OpenCV keeps
                    // one network per input size, so the sizes must not vary with every plate.
                    const int crop_width = std::min(image.width & ~1, std::max(64, int(hull.width * 3)) & ~1);
                    const int crop_height = std::min(image.height & ~1, (crop_width / 2) & ~1);
                    const int x = std::clamp(int(hull.x + hull.width / 2) - crop_width / 2, 0, (image.width & ~1) - crop_width);
                    const int y = std::clamp(int(hull.y + hull.height / 2) - crop_height / 2, 0, (image.height & ~1) - crop_height);
                    int side = long_side;
                    for (int size : {128, 256, 512}) {
                        if (size >= crop_width && size < side) { side = size; break; }
                    }
                    join_line(hull, text.hull, text_pass(net, image, cv::Rect(x, y, crop_width, crop_height), side));
                }
                if (hull.height > 0.25f * image.height) continue;  // no plate is that tall: a tilted line of other text
                const float extra = margin * shorter;
                plates.push_back(veil_box{std::max(0.f, hull.x - extra), std::max(0.f, hull.y - extra),
                                          std::min(float(image.width), hull.x + hull.width + extra),
                                          std::min(float(image.height), hull.y + hull.height + extra), text.score});
            }
            return copy_boxes(non_maximum_suppression(plates, 0.5f), boxes, capacity);
    });
}

}  // namespace

extern "C" int veil_text_net_detect(veil_text_net *net, veil_image image, int long_side, float margin, veil_box *boxes,
                                    int capacity, char *error, size_t error_size) {
    return text_net_detect(net, image, long_side, margin, boxes, capacity, error, error_size);
}

// MARK: YuNet face detector

struct veil_yunet {
    std::string path;
    std::map<std::pair<int, int>, cv::dnn::Net> networks;
};

extern "C" veil_yunet *veil_yunet_open(const char *onnx_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_yunet *>(nullptr), [&]() -> veil_yunet * {
            auto *net = new veil_yunet{onnx_path, {}};
            net->networks[{0, 0}] = cv::dnn::readNetFromONNX(onnx_path);  // a broken model is reported at open
            return net;
    });
}

extern "C" void veil_yunet_close(veil_yunet *net) { delete net; }

/// YuNet's v2 head (2023mar): per stride 8, 16 and 32, `cls`, `obj` and `bbox` maps; a face's score is
/// sqrt(cls * obj), its box centre (column + dx, row + dy) * stride and its size exp(dw, dh) * stride. Input BGR 0–255,
/// no mean, zero padding right and bottom (as OpenCV >= 4.8's FaceDetectorYN does).
extern "C" int veil_yunet_detect(veil_yunet *net, veil_image image, int input_width, float threshold, veil_box *boxes,
                                 int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!net || image.width <= 0 || image.height <= 0 || input_width < 32) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            const int width = input_width, height = std::max(1, int(std::lround(double(width) * image.height / image.width)));
            const float scale_x = float(width) / image.width, scale_y = float(height) / image.height;
            const int padded_width = (width + 31) / 32 * 32, padded_height = (height + 31) / 32 * 32;
            auto key = std::make_pair(padded_width, padded_height);
            auto found = net->networks.find(key);
            if (found == net->networks.end()) {
                found = net->networks.emplace(key, cv::dnn::readNetFromONNX(net->path)).first;
            }
            cv::Mat rgb = rgb_scaled(image, cv::Size(width, height));
            cv::Mat padded;
            cv::copyMakeBorder(rgb, padded, 0, padded_height - rgb.rows, 0, padded_width - rgb.cols, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
            cv::dnn::Net &dnn = found->second;
            dnn.setInput(cv::dnn::blobFromImage(padded, 1.0, cv::Size(), cv::Scalar(), /* RGB to BGR */ true, false));
            static const std::vector<cv::String> names{"cls_8", "cls_16", "cls_32", "obj_8", "obj_16", "obj_32",
                                                       "bbox_8", "bbox_16", "bbox_32"};
            std::vector<cv::Mat> outputs;
            dnn.forward(outputs, names);
            std::vector<veil_box> candidates;
            const int strides[3] = {8, 16, 32};
            for (int level = 0; level < 3; ++level) {
                const int stride = strides[level], columns = padded_width / stride, rows = padded_height / stride;
                const float *cls = outputs[level].ptr<float>(), *obj = outputs[3 + level].ptr<float>();
                const float *box = outputs[6 + level].ptr<float>();
                for (int row = 0; row < rows; ++row) {
                    for (int column = 0; column < columns; ++column) {
                        const int at = row * columns + column;
                        const float score = std::sqrt(std::clamp(cls[at], 0.f, 1.f) * std::clamp(obj[at], 0.f, 1.f));
                        if (score <= threshold) continue;
                        const float cx = (column + box[at * 4]) * stride, cy = (row + box[at * 4 + 1]) * stride;
                        const float w = std::exp(box[at * 4 + 2]) * stride, h = std::exp(box[at * 4 + 3]) * stride;
                        candidates.push_back(veil_box{std::max(0.f, (cx - w / 2) / scale_x), std::max(0.f, (cy - h / 2) / scale_y),
                                                      std::min(float(image.width), (cx + w / 2) / scale_x),
                                                      std::min(float(image.height), (cy + h / 2) / scale_y), score});
                    }
                }
            }
            return copy_boxes(non_maximum_suppression(candidates, 0.3f), boxes, capacity);
    });
}

// MARK: SSDLite pedestrian detector

struct veil_ssd_net {
    std::string model, config;
    // PriorBox keeps the anchor grid of the first input size: one net per size.
    std::map<std::pair<int, int>, cv::dnn::Net> networks;
};

extern "C" veil_ssd_net *veil_ssd_net_open(const char *pb_path, const char *pbtxt_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_ssd_net *>(nullptr), [&]() -> veil_ssd_net * {
            auto *net = new veil_ssd_net{pb_path, pbtxt_path, {}};
            net->networks[{0, 0}] = cv::dnn::readNetFromTensorflow(pb_path, pbtxt_path);
            return net;
    });
}

extern "C" void veil_ssd_net_close(veil_ssd_net *net) { delete net; }

namespace {

/// One SSD pass over `rgb` (already at the network's input size); boxes mapped into `region` of the frame. For a
/// tile (`frame` given), a box whose top is the tile's top edge inside the frame is dropped: it is a person cut by the
/// tile (a torso whose box top is the tile's edge would pass for a head there), whose head the tile above sees.
void ssd_pass(cv::dnn::Net &net, const cv::Mat &rgb, cv::Rect2f region, float threshold, std::vector<veil_box> &people,
              bool tile = false) {
    cv::Mat blob = cv::dnn::blobFromImage(rgb, 1.0 / 127.5, rgb.size(), cv::Scalar(127.5, 127.5, 127.5), false, false);
    net.setInput(blob);
    cv::Mat output = net.forward();  // [1,1,N,7]: image, class, score, x0, y0, x1, y1 (0..1 of the input)
    const float *rows = output.ptr<float>();
    for (int row = 0; row < output.size[2]; ++row) {
        const float *detection = rows + row * 7;
        if (int(detection[1]) != 1 || detection[2] < threshold) continue;
        if (tile && detection[4] < 0.03f && region.y > 0) continue;
        people.push_back(veil_box{region.x + std::clamp(detection[3], 0.f, 1.f) * region.width,
                                  region.y + std::clamp(detection[4], 0.f, 1.f) * region.height,
                                  region.x + std::clamp(detection[5], 0.f, 1.f) * region.width,
                                  region.y + std::clamp(detection[6], 0.f, 1.f) * region.height, detection[2]});
    }
}

}  // namespace

extern "C" int veil_ssd_net_detect(veil_ssd_net *net, veil_image image, int input_width, int input_height, int tiles,
                                   unsigned tile_mask, float threshold, veil_box *boxes, int capacity, char *error,
                                   size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!net || image.width <= 0 || image.height <= 0 || input_width < 32 || input_height < 32 || tiles < 1 || tiles > 4) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            auto key = std::make_pair(input_width, input_height);
            auto found = net->networks.find(key);
            if (found == net->networks.end()) {
                found = net->networks.emplace(key, cv::dnn::readNetFromTensorflow(net->model, net->config)).first;
            }
            const cv::Size input(input_width, input_height);
            std::vector<veil_box> people;
            if (tiles == 1 || tile_mask == 0) {
                // RGB in [−1, 1], the whole frame stretched (as trained).
                ssd_pass(found->second, rgb_scaled(image, input), cv::Rect2f(0, 0, float(image.width), float(image.height)),
                         threshold, people);
                return copy_boxes(people, boxes, capacity);
            }
            // Wide shots: the whole frame, then a tiles × tiles grid of overlapping crops, each enlarged to the
            // input size, so people a few dozen pixels tall become big enough for the network.
            cv::Mat full = rgb_scaled(image, cv::Size(image.width & ~1, image.height & ~1));
            cv::Mat scaled;
            cv::resize(full, scaled, input, 0, 0, cv::INTER_AREA);
            ssd_pass(found->second, scaled, cv::Rect2f(0, 0, float(image.width), float(image.height)), threshold, people);
            const float tile_width = full.cols / (tiles * 0.8f + 0.2f), tile_height = full.rows / (tiles * 0.8f + 0.2f);
            for (int row = 0; row < tiles; ++row) {
                for (int column = 0; column < tiles; ++column) {
                    if (!(tile_mask & (1u << (row * tiles + column)))) continue;
                    cv::Rect crop(int(column * tile_width * 0.8f), int(row * tile_height * 0.8f), int(tile_width), int(tile_height));
                    crop &= cv::Rect(0, 0, full.cols, full.rows);
                    cv::Mat tile;
                    cv::resize(full(crop), tile, input, 0, 0, cv::INTER_LINEAR);
                    ssd_pass(found->second, tile, cv::Rect2f(crop), threshold, people, true);
                }
            }
            return copy_boxes(non_maximum_suppression(people, 0.5f), boxes, capacity);
    });
}

// MARK: YOLOv3-tiny vehicle detector

struct veil_vehicle_net {
    cv::dnn::Net network;
    std::vector<cv::String> outputs;
};

extern "C" veil_vehicle_net *veil_vehicle_net_open(const char *cfg_path, const char *weights_path, char *error,
                                                   size_t error_size) {
    return guarded(error, error_size, static_cast<veil_vehicle_net *>(nullptr), [&]() -> veil_vehicle_net * {
            auto *net = new veil_vehicle_net{cv::dnn::readNetFromDarknet(cfg_path, weights_path), {}};
            net->outputs = net->network.getUnconnectedOutLayersNames();
            return net;
    });
}

extern "C" void veil_vehicle_net_close(veil_vehicle_net *net) { delete net; }

/// Darknet's region output: per row the box centre and size (fractions of the input), objectness, then one score per
/// COCO class; a vehicle's score is objectness × its class's. The picture is stretched to the square input, as
/// darknet trains, so the fractions map straight back to the frame.
extern "C" int veil_vehicle_net_detect(veil_vehicle_net *net, veil_image image, int input_size, float threshold,
                                       veil_box *boxes, int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!net || image.width <= 0 || image.height <= 0 || input_size < 32 || input_size % 32 != 0) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            cv::Mat rgb = rgb_scaled(image, cv::Size(input_size, input_size));
            net->network.setInput(cv::dnn::blobFromImage(rgb, 1.0 / 255, cv::Size(), cv::Scalar(), false, false));
            std::vector<cv::Mat> outputs;
            net->network.forward(outputs, net->outputs);
            // COCO's class indices: 2 car, 3 motorbike, 5 bus, 7 truck.
            static const int vehicles[] = {2, 3, 5, 7};
            std::vector<veil_box> found;
            for (const cv::Mat &output : outputs) {
                for (int row = 0; row < output.rows; ++row) {
                    const float *values = output.ptr<float>(row);
                    float best = 0;
                    for (int index : vehicles) {
                        if (5 + index < output.cols) best = std::max(best, values[4] * values[5 + index]);
                    }
                    if (best < threshold) continue;
                    const float cx = values[0] * image.width, cy = values[1] * image.height;
                    const float w = values[2] * image.width, h = values[3] * image.height;
                    found.push_back(veil_box{std::max(0.f, cx - w / 2), std::max(0.f, cy - h / 2),
                                             std::min(float(image.width), cx + w / 2),
                                             std::min(float(image.height), cy + h / 2), best});
                }
            }
            return copy_boxes(non_maximum_suppression(found, 0.45f), boxes, capacity);
    });
}

// MARK: PP-OCRv4 text recogniser

struct veil_text_reader {
    cv::dnn::Net network;
};

extern "C" veil_text_reader *veil_text_reader_open(const char *onnx_path, char *error, size_t error_size) {
    return guarded(error, error_size, static_cast<veil_text_reader *>(nullptr), [&]() -> veil_text_reader * {
            return new veil_text_reader{cv::dnn::readNetFromONNX(onnx_path)};
    });
}

extern "C" void veil_text_reader_close(veil_text_reader *reader) { delete reader; }

extern "C" int veil_text_reader_read(veil_text_reader *reader, veil_image image, veil_box box, int32_t *indices,
                                     float *probabilities, int capacity, char *error, size_t error_size) {
    return guarded(error, error_size, -1, [&]() -> int {
            if (!reader || image.width <= 0 || image.height <= 0 || capacity <= 0) {
                set_error(error, error_size, "invalid arguments");
                return -1;
            }
            cv::Rect region(cv::Point(int(std::floor(box.x1)) & ~1, int(std::floor(box.y1)) & ~1),
                            cv::Point(int(std::ceil(box.x2)), int(std::ceil(box.y2))));
            region &= cv::Rect(0, 0, image.width & ~1, image.height & ~1);
            region.width &= ~1;
            region.height &= ~1;
            if (region.width < 8 || region.height < 8) return 0;
            veil_image view = image;
            view.y = image.y + size_t(region.y) * image.y_stride + region.x;
            view.u = image.u + size_t(region.y / 2) * image.u_stride + region.x / 2;
            view.v = image.v + size_t(region.y / 2) * image.v_stride + region.x / 2;
            view.width = region.width;
            view.height = region.height;
            const int height = 48, width = 320;
            const int scaled = std::clamp(int(std::ceil(double(height) * region.width / region.height)), 8, width);
            cv::Mat rgb = rgb_scaled(view, cv::Size(scaled, height));
            // (x − 127.5) / 127.5 in BGR order, the line at the left and zeros after it: what PaddleOCR feeds it.
            cv::Mat line = cv::dnn::blobFromImage(rgb, 1.0 / 127.5, cv::Size(), cv::Scalar(127.5, 127.5, 127.5), true, false);
            cv::Mat blob(std::vector<int>{1, 3, height, width}, CV_32F, cv::Scalar(0));
            for (int channel = 0; channel < 3; ++channel) {
                for (int row = 0; row < height; ++row) {
                    std::memcpy(blob.ptr<float>(0, channel, row), line.ptr<float>(0, channel, row), sizeof(float) * scaled);
                }
            }
            reader->network.setInput(blob);
            cv::Mat output = reader->network.forward();  // [1, T, classes] probabilities
            const int steps = output.size[1], classes = output.size[2];
            int written = 0, previous = 0;
            for (int step = 0; step < steps && written < capacity; ++step) {
                const float *row = output.ptr<float>(0, step);
                const int best = int(std::max_element(row, row + classes) - row);
                if (best != 0 && best != previous) {
                    indices[written] = best;
                    probabilities[written] = row[best];
                    ++written;
                }
                previous = best;
            }
            return written;
    });
}

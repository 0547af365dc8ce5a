import Foundation
public import VeilCore
public import VeilFederation

/// The partner API's live feeds are where camera pipelines publish their live segments.
extension LiveFeeds: LiveSegmentSink {
    public func publish(segment: LiveSegment, camera: CameraID, redaction: RedactionSpec) {
        publish(
            Segment(sequence: segment.sequence, duration: segment.duration, bytes: segment.bytes), camera: camera,
            redaction: redaction)
    }
}

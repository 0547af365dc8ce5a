import Testing
import VeilCore
import VeilMedia
import VeilTestSupport

@testable import VeilVision

@Suite("Privacy masks")
struct PrivacyMaskTests {
    /// A 640×480 picture whose every luma pixel is its column modulo 200 (nothing in it is mid grey by accident
    /// over a row), chroma 60.
    static func picture() throws -> VideoFrame {
        let frame = try VideoFrame(width: 640, height: 480, time: 0)
        frame.withWritablePlanes { planes in
            for row in 0..<480 {
                for column in 0..<640 { planes.y[row * planes.yStride + column] = UInt8(column % 200) }
            }
            for row in 0..<240 {
                planes.u.advanced(by: row * planes.uStride).update(repeating: 60, count: 320)
                planes.v.advanced(by: row * planes.vStride).update(repeating: 60, count: 320)
            }
        }
        return frame
    }

    @Test("a triangle is painted grey, rounded outwards, luma and chroma; nothing outside it changes")
    func triangle() async throws {
        try await HeavyTest.run {
            let frame = try Self.picture()
            // Corners at (64, 48), (576, 48), (320, 432) in pixels.
            let masks = PrivacyMasks(polygons: [.init(points: [SIMD2(0.1, 0.1), SIMD2(0.9, 0.1), SIMD2(0.5, 0.9)])])
            masks.apply(to: frame)
            func inside(_ x: Double, _ y: Double) -> Bool {
                // Strictly inside the triangle, with a pixel's margin.
                y > 49 && y < 431 && x > 64 + (y - 48) * 256 / 384 + 1 && x < 576 - (y - 48) * 256 / 384 - 1
            }
            func outside(_ x: Double, _ y: Double) -> Bool {
                y < 46 || y > 434 || x < 64 + (y - 48) * 256 / 384 - 2 || x > 576 - (y - 48) * 256 / 384 + 2
            }
            var painted = 0, untouched = 0
            frame.withPlanes { planes in
                for row in 0..<480 {
                    for column in 0..<640 {
                        let value = planes.y[row * planes.yStride + column]
                        let (x, y) = (Double(column) + 0.5, Double(row) + 0.5)
                        if inside(x, y) {
                            #expect(value == 128, "(\(column), \(row))")
                            painted += 1
                        } else if outside(x, y) {
                            #expect(value == UInt8(column % 200), "(\(column), \(row))")
                            untouched += 1
                        }
                    }
                }
                #expect(planes.u[120 * planes.uStride + 160] == 128 && planes.v[120 * planes.vStride + 160] == 128)
                #expect(planes.u[10 * planes.uStride + 10] == 60 && planes.v[230 * planes.vStride + 310] == 60)
            }
            #expect(painted > 90_000 && untouched > 100_000)
            #expect(
                masks.covers(x: 320, y: 240, width: 640, height: 480)
                    && !masks.covers(x: 10, y: 10, width: 640, height: 480))
        }
    }

    @Test("fewer than three points paint nothing")
    func degenerate() async throws {
        try await HeavyTest.run {
            let masks = PrivacyMasks(polygons: [.init(points: [SIMD2(0.1, 0.1), SIMD2(0.2, 0.2)])])
            #expect(masks.isEmpty, "fewer than three points paint nothing")
        }
    }
}

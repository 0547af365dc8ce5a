import Testing

@testable import VeilGateway

/// How far behind real time a camera is: what decides whether its detections wait (issue 11).
@Suite("Lag behind real time")
struct LagMeterTests {
    @Test(
        "on time is no lag; handling slower than the frames come builds it; an early frame or a second behind starts again"
    )
    func lag() {
        var meter = LagMeter(tolerance: 0.2)
        let start = ContinuousClock.now
        func at(_ seconds: Double) -> ContinuousClock.Instant { start + .milliseconds(Int(seconds * 1000)) }
        #expect(meter.measure(10.0, now: at(0)) == 0, "the first frame")
        #expect(abs(meter.measure(10.04, now: at(0.04))) < 1e-9, "on time")
        #expect(!meter.isBehind)
        // A detection pass of 300 ms: the next frames are handled late.
        #expect(abs(meter.measure(10.08, now: at(0.38)) - 0.3) < 1e-9)
        #expect(meter.isBehind)
        #expect(abs(meter.measure(10.12, now: at(0.40)) - 0.28) < 1e-9, "catching up")
        // A frame that comes before its time (the camera's clock runs a little fast): measured from there.
        #expect(meter.measure(11.0, now: at(1.0)) == 0)
        #expect(abs(meter.measure(11.04, now: at(1.1)) - 0.06) < 1e-9)
        // More than a second behind: the pacer starts its clock again, and so does the meter.
        #expect(meter.measure(11.08, now: at(2.5)) == 0)
        #expect(!meter.isBehind)
        // A time that went back (the feed reconnected): a new start.
        #expect(meter.measure(0, now: at(2.6)) == 0)
    }
}

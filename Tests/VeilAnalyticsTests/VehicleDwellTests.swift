import Foundation
import Testing
import VeilAnalytics
import VeilCore
import VeilMedia
import VeilTestSupport
import VeilVision

/// Vehicles (issue 13): YOLOv3-tiny finds them on real footage and photos, the vehicle tracker keeps a parked one
/// through people walking past it, and vehicle-dwell raises one alert for a vehicle that stays in a zone past the
/// zone's threshold — on vtest.avi's parked van — and none where no vehicle stands.
@Suite("Vehicles and vehicle-dwell")
struct VehicleDwellTests {
    static let models = VisionModels(directory: TestPaths.models)

    static func picture(_ path: String) throws -> VideoFrame {
        try #require(try MediaSource(address: path).nextFrame())
    }

    static func normalised(_ sighting: VehicleDetector.Sighting, width: Double, height: Double) -> TrackedObject {
        TrackedObject(
            track: 0, kind: .vehicle, x: sighting.box.x1 / width, y: sighting.box.y1 / height,
            width: sighting.box.width / width, height: sighting.box.height / height)
    }

    /// The counterweight of the footage test: pictures without a vehicle give none. The EU plate photos are close-ups
    /// of a car's front or back filling the frame (cut at the roof), which COCO's training pictures rarely are: the
    /// network finds a vehicle in about a quarter of them — a scene camera sees vehicles whole, as on vtest.
    @Test("photos: darknet's dog.jpg has its truck, the pictures without a vehicle have none")
    func photos() async throws {
        try await HeavyTest.run {
            let detector = try Self.models.vehicles()
            #expect(try !detector.detect(in: try Self.picture(TestPaths.media("people/dog.jpg"))).isEmpty)
            for name in ["people/person.jpg", "people/horses.jpg", "faces/messi5.jpg", "faces/city.jpg"] {
                let found = try detector.detect(in: try Self.picture(TestPaths.media(name)))
                #expect(found.isEmpty, "\(name): \(found)")
            }
            let folder = TestPaths.sharedData.appendingPathComponent("plates/eu")
            let cars = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }
            var found = 0
            for name in cars
            where try !detector.detect(in: try Self.picture(folder.appendingPathComponent(name).path)).isEmpty {
                found += 1
            }
            print("vehicles: found in \(found) of \(cars.count) close-up car photos")
            #expect(cars.count >= 50)
            #expect(found >= 10)
        }
    }

    @Test(
        "vtest.avi: both parked vehicles found on nearly every look, nothing else, and followed as two; the van's kerb zone alerts once a minute in, the walkway never"
    )
    func vtest() async throws {
        try await HeavyTest.run {
            let detector = try Self.models.vehicles()
            let source = try MediaSource(address: TestPaths.vtest)
            var tracker = VehicleTracker()
            var thresholds = CameraAnalytics.Thresholds()
            thresholds.vehicleDwellAfter = 60
            let kerb = Zone(
                id: "kerb",
                polygon: [
                    Point(x: 0.84, y: 0.05), Point(x: 0.95, y: 0.05), Point(x: 0.95, y: 0.2), Point(x: 0.84, y: 0.2),
                ])
            let walkway = Zone(
                id: "walkway",
                polygon: [Point(x: 0, y: 0.25), Point(x: 1, y: 0.25), Point(x: 1, y: 1), Point(x: 0, y: 1)])
            var analytics = CameraAnalytics(
                camera: "vtest", analytics: [.vehicleDwell], zones: [kerb, walkway], lines: [], thresholds: thresholds,
                origin: Date(timeIntervalSince1970: 0))
            var looks = 0, bothFound = 0, more = 0
            var spent = Duration.zero
            var alerts: [Alert] = []
            while let frame = try source.nextFrame() {
                // A look every 5 s of video, as a gateway camera's vehicle watch does; the analytics every frame.
                if frame.index % 50 == 0 {
                    let began = ContinuousClock.now
                    let sightings = try detector.detect(in: frame)
                    spent += (ContinuousClock.now - began)
                    looks += 1
                    if sightings.count == 2 { bothFound += 1 }
                    if sightings.count > 2 { more += 1 }
                    tracker.update(with: sightings.map { Self.normalised($0, width: 768, height: 576) }, at: frame.time)
                }
                alerts += analytics.observe(Observation(time: frame.time, objects: tracker.vehicles(at: frame.time)))
            }
            print(
                "vtest vehicles: both found on \(bothFound) of \(looks) looks, more on \(more); \(spent / looks) a look; alerts \(alerts)"
            )
            #expect(looks == 16)
            // Measured: both on 16 of 16 looks (38 of 40 looking every 2 s: the small one at the picture's edge missed
            // while people walked past); never a third — none of the walkers is taken for a vehicle.
            #expect(bothFound >= 14)
            #expect(more == 0, "something else taken for a vehicle")
            #expect(tracker.vehicles(at: 79).map(\.track).sorted() == [1_000_000, 1_000_001], "two vehicles, no churn")
            #expect(alerts.count == 1, "\(alerts)")
            let alert = try #require(alerts.first)
            #expect(alert.kind == .vehicleDwell && alert.zone == "kerb")
            let after = alert.time.timeIntervalSince1970
            #expect(after >= 60 && after < 61, "raised when the van has stood a minute: \(after) s")
        }
    }

    @Test("the tracker keeps a vehicle hidden for less than its keep time, and a stay restarts when it comes back")
    func trackerAndStays() {
        var tracker = VehicleTracker(keepFor: 30)
        let car = TrackedObject(track: 0, kind: .vehicle, x: 0.4, y: 0.4, width: 0.1, height: 0.05)
        tracker.update(with: [car], at: 0)
        tracker.update(with: [], at: 20)  // a bus in front of it
        #expect(tracker.vehicles(at: 20).count == 1)
        var moved = car
        moved.x += 0.01
        tracker.update(with: [moved], at: 25)
        #expect(tracker.vehicles(at: 25).map(\.track) == [1_000_000], "the same vehicle, found again")
        tracker.update(with: [], at: 56)
        #expect(tracker.vehicles(at: 56).isEmpty, "gone once unseen for longer than the keep time")

        var thresholds = CameraAnalytics.Thresholds()
        thresholds.vehicleDwellAfter = 60
        let bay = Zone(
            id: "bay",
            polygon: [Point(x: 0.3, y: 0.3), Point(x: 0.6, y: 0.3), Point(x: 0.6, y: 0.6), Point(x: 0.3, y: 0.6)])
        var analytics = CameraAnalytics(
            camera: "c", analytics: [.vehicleDwell], zones: [bay], lines: [], thresholds: thresholds, origin: Date())
        var parked = car
        parked.track = 7
        var raised = 0
        for second in 0..<200 {
            // In the bay for 100 s, away for 20 s, back for 80 s: two stays, two alerts; people are never vehicles.
            let away = (100..<120).contains(second)
            let person = TrackedObject(track: 1, x: 0.45, y: 0.35, width: 0.02, height: 0.1)
            let objects = away ? [person] : [parked, person]
            raised += analytics.observe(Observation(time: Double(second), objects: objects)).count
        }
        #expect(raised == 2)
    }
}

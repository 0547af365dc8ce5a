/// `loud-sound`: a camera's sound, window by window (RMS in dBFS per 100 ms), against the camera's own running
/// baseline — a bang (one window far above it) or sustained shouting (windows well above it for a while) raises an
/// alert. Sees levels only, never samples: nothing of the sound itself reaches it.
///
/// The baseline is the **median** of the last 30 s of windows, so a street's traffic or a station's announcements set
/// their own normal, and speech resuming after a quiet spell is not a bang (the median of 30 s holds the speech before
/// it). Both kinds also need an absolute floor, so that a quiet room's door closing is not an alert either.
public struct LoudSoundDetector: Sendable {
    public struct Thresholds: Sendable, Equatable {
        /// A bang: one window this many dB over the baseline…
        public var bangAbove = 20.0
        /// …and at least this loud (dBFS).
        public var bangFloor = -20.0
        /// Shouting: windows this many dB over the baseline…
        public var sustainedAbove = 12.0
        /// …and at least this loud (dBFS)…
        public var sustainedFloor = -24.0
        /// …for this long (seconds), with no more than one window in three below it.
        public var sustainedFor = 1.5
        /// After an alert, this long (seconds) with nothing loud (every window under the shouting margin) before the
        /// next.
        public var rearm = 3.0
        /// The baseline's span (seconds) and the least of it known before anything is judged.
        public var baselineSpan = 30.0
        public var warmUp = 2.0

        public init() {}
    }

    /// What was heard.
    public enum Sound: String, Sendable, Equatable {
        case bang
        case sustained
    }

    public var thresholds: Thresholds
    private var recent: [(time: Double, level: Double)] = []
    private var loudSince: Double?
    private var loudWindows = 0
    private var quietWindows = 0
    private var armed = true
    private var calmSince: Double?

    public init(thresholds: Thresholds = Thresholds()) { self.thresholds = thresholds }

    /// The camera's normal level now (the median of the span), nil while it is still warming up.
    public var baseline: Double? {
        guard let first = recent.first, let last = recent.last, last.time - first.time >= thresholds.warmUp else {
            return nil
        }
        let sorted = recent.map(\.level).sorted()
        return sorted[sorted.count / 2]
    }

    /// One window's level (RMS dBFS) starting at `time`; what it completes, if anything.
    public mutating func observe(level: Double, at time: Double) -> Sound? {
        defer {
            recent.append((time, level))
            recent.removeAll { time - $0.time > thresholds.baselineSpan }
        }
        guard let baseline else { return nil }
        let over = level - baseline
        if !armed {
            // Re-armed after a spell with nothing loud in it.
            if over < thresholds.sustainedAbove {
                calmSince = calmSince ?? time
                if time - (calmSince ?? time) >= thresholds.rearm { armed = true }
            } else {
                calmSince = nil
            }
            return nil
        }
        if over >= thresholds.bangAbove, level >= thresholds.bangFloor {
            return fire()
        }
        if over >= thresholds.sustainedAbove, level >= thresholds.sustainedFloor {
            loudSince = loudSince ?? time
            loudWindows += 1
            if time - (loudSince ?? time) >= thresholds.sustainedFor - 0.1 { return fire(.sustained) }
        } else if loudSince != nil {
            quietWindows += 1
            // A breath between shouts does not end them; a pause of more than a third of the windows does.
            if quietWindows * 2 > loudWindows {
                loudSince = nil
                loudWindows = 0
                quietWindows = 0
            }
        }
        return nil
    }

    private mutating func fire(_ sound: Sound = .bang) -> Sound {
        armed = false
        calmSince = nil
        loudSince = nil
        loudWindows = 0
        quietWindows = 0
        return sound
    }
}

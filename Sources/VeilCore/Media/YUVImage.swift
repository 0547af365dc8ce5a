/// Writable planes of a YUV 4:2:0 picture: full-size luma, half-size chroma, each with its row stride.
public struct YUVPlanes {
    public let y: UnsafeMutablePointer<UInt8>
    public let u: UnsafeMutablePointer<UInt8>
    public let v: UnsafeMutablePointer<UInt8>
    public let yStride: Int
    public let uStride: Int
    public let vStride: Int
    public let width: Int
    public let height: Int

    public init(
        y: UnsafeMutablePointer<UInt8>, u: UnsafeMutablePointer<UInt8>, v: UnsafeMutablePointer<UInt8>,
        yStride: Int, uStride: Int, vStride: Int, width: Int, height: Int
    ) {
        self.y = y
        self.u = u
        self.v = v
        self.yStride = yStride
        self.uStride = uStride
        self.vStride = vStride
        self.width = width
        self.height = height
    }
}

/// A decoded picture that detectors read and redaction changes in place. The media target's frames conform;
/// the vision target works on this protocol, so neither imports the other.
public protocol YUVImage: AnyObject, Sendable {
    var width: Int { get }
    var height: Int { get }
    /// Seconds from the start of the source.
    var time: Double { get }
    /// The planes, for reading (detectors). Must not be written through.
    func withPlanes<T>(_ body: (YUVPlanes) throws -> T) rethrows -> T
    /// The planes, for writing in place (redaction). May first make the picture's buffers its own.
    func withWritablePlanes<T>(_ body: (YUVPlanes) throws -> T) rethrows -> T
}

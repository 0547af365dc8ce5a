import Foundation

/// A folder as a POSIX tar (ustar) stream, the way an export bundle is downloaded: every operating system opens it
/// (`tar -xf`), it needs no compression (video does not compress), and it is written file by file as it is read.
enum TarArchive {
    /// The regular files under `folder`, as paths relative to it, sorted (the manifest and its signature first sort
    /// before `video/`).
    static func files(in folder: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        var files: [String] = []
        while let path = enumerator.nextObject() as? String {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isFolder), !isFolder.boolValue
            {
                files.append(path)
            }
        }
        return files.sorted()
    }

    /// The 512-byte ustar header of a regular file. Names longer than 100 bytes are split at a `/` into the prefix
    /// field; nil when that cannot be done.
    static func header(name: String, size: Int, modified: Date) -> [UInt8]? {
        var prefix = ""
        var short = name
        if name.utf8.count > 100 {
            guard
                let split = name.indices.filter({ name[$0] == "/" }).first(where: { index in
                    name[..<index].utf8.count <= 155 && name[name.index(after: index)...].utf8.count <= 100
                })
            else { return nil }
            prefix = String(name[..<split])
            short = String(name[name.index(after: split)...])
        }
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> String {
            let digits = String(value, radix: 8)
            return String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
        }
        put(short, at: 0, width: 100)
        put(octal(0o644, width: 8), at: 100, width: 8)
        put(octal(0, width: 8), at: 108, width: 8)
        put(octal(0, width: 8), at: 116, width: 8)
        put(octal(size, width: 12), at: 124, width: 12)
        put(octal(max(0, Int(modified.timeIntervalSince1970)), width: 12), at: 136, width: 12)
        put("        ", at: 148, width: 8)
        block[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7), at: 148, width: 7)
        block[155] = UInt8(ascii: " ")
        return block
    }

    /// Zero bytes that bring a file of `size` bytes to a whole number of blocks.
    static func padding(after size: Int) -> Int { (512 - size % 512) % 512 }

    /// Two zero blocks end the archive.
    static let end = [UInt8](repeating: 0, count: 1024)
}

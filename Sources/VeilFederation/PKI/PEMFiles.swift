import Crypto
import Foundation
import SwiftASN1
import X509

/// Reading certificates and keys, with errors that name the file and never its contents.
enum PEMFile {
    static func text(at path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FederationError(.fileUnreadable, "\(path): cannot read")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func certificate(at path: String) throws -> Certificate {
        guard let first = try certificates(at: path).first else {
            throw FederationError(.invalidCertificate, "\(path): no certificate in the file")
        }
        return first
    }

    static func certificates(at path: String) throws -> [Certificate] {
        try certificates(pem: text(at: path), named: path)
    }

    /// The certificates of PEM text already read (`name` for errors).
    static func certificates(pem: String, named name: String) throws -> [Certificate] {
        do {
            return try PEMDocument.parseMultiple(pemString: pem)
                .filter { $0.discriminator == "CERTIFICATE" }
                .map { try Certificate(pemDocument: $0) }
        } catch {
            throw FederationError(.invalidCertificate, "\(name): not a PEM certificate")
        }
    }

    /// Loads a P-256 private key, refusing a file that others can read.
    static func privateKey(at path: String) throws -> P256.Signing.PrivateKey {
        try SecureFile.requirePrivate(path)
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: text(at: path))
        } catch let error as FederationError {
            throw error
        } catch {
            throw FederationError(.invalidKey, "\(path): not a P-256 private key in PEM")
        }
    }
}

/// File writes for key material: new files only, 0600 from the first byte, flushed to disk.
enum SecureFile {
    static func writeNew(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw FederationError(.alreadyExists, "\(path) already exists: keys are never overwritten")
            }
            throw FederationError(.fileUnwritable, "\(path): cannot create (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        defer { for index in bytes.indices { bytes[index] = 0 } }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw FederationError(.fileUnwritable, "\(path): short write")
        }
    }

    static func writePublic(_ text: String, to path: String) throws {
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644])
        else {
            throw FederationError(.fileUnwritable, "\(path): cannot write")
        }
    }

    /// Replaces a public file atomically (write a sibling, then rename), so a reader never sees half a list.
    static func replacePublic(_ data: Data, at path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw FederationError(.fileUnwritable, "\(path): cannot write")
        }
    }

    static func requirePrivate(_ path: String) throws {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else {
            throw FederationError(.fileUnreadable, "\(path): cannot read")
        }
        if mode & 0o077 != 0 {
            throw FederationError(
                .insecurePermissions, "\(path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 it")
        }
    }
}

/// Parses textual IP addresses into the bytes a certificate's SAN carries.
enum IPAddressBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

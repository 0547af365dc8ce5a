import Crypto
import Foundation
import SwiftASN1
public import X509

// What the PKI, the peer verifier and the request context read off a certificate.

extension Certificate.SerialNumber {
    /// Lower-case hex without separators: how serials appear in file names, lists and the revocation list.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
}

extension Certificate {
    /// SHA-256 of the DER encoding, lower-case hex: the fingerprint a policy can pin.
    public var fingerprint: String {
        SHA256.hash(data: derBytes).map { String(format: "%02x", $0) }.joined()
    }

    /// The DER encoding (what TLS sends and what fingerprints hash).
    public var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(self)) != nil else { return [] }
        return serializer.serializedBytes
    }

    /// The first SAN URI (the identity a policy names, e.g. a SPIFFE id).
    public var partnerURI: String? {
        guard let names = try? extensions.subjectAlternativeNames else { return nil }
        for name in names {
            if case .uniformResourceIdentifier(let uri) = name { return uri }
        }
        return nil
    }
}

extension DistinguishedName {
    /// The first value of an attribute (common name, organisation) as text.
    func attribute(_ type: ASN1ObjectIdentifier) -> String? {
        for name in self {
            for attribute in name where attribute.type == type { return attribute.value.description }
        }
        return nil
    }
}

public import Foundation

/// A client certificate the site issued, as the partners page lists it.
public struct ConsoleCertificate: Sendable, Codable, Equatable {
    public var serial: String
    public var notAfter: Date
    /// `valid`, `expired` or `revoked`.
    public var state: String
    /// Valid, but expiring within ``ConsolePartners/expiryWarning``: renew it before partners or operators lose access.
    public var expiresSoon: Bool
    public init(serial: String, notAfter: Date, state: String, expiresSoon: Bool) {
        self.serial = serial
        self.notAfter = notAfter
        self.state = state
        self.expiresSoon = expiresSoon
    }
}

/// A partner of the policy in force: its grants and its certificates.
public struct ConsolePartner: Sendable, Codable, Equatable {
    public struct Grant: Sendable, Codable, Equatable {
        public var id: String
        public var action: String
        public var cameras: String
        /// `YYYY-MM-DD`, or nil for none.
        public var expires: String?
        public init(id: String, action: String, cameras: String, expires: String?) {
            self.id = id
            self.action = action
            self.cameras = cameras
            self.expires = expires
        }
    }

    public var id: String
    public var organisation: String
    public var role: String
    public var identity: String
    public var grants: [Grant]
    public var certificates: [ConsoleCertificate]
    public init(
        id: String, organisation: String, role: String, identity: String, grants: [Grant],
        certificates: [ConsoleCertificate]
    ) {
        self.id = id
        self.organisation = organisation
        self.role = role
        self.identity = identity
        self.grants = grants
        self.certificates = certificates
    }
}

/// A console operator of the policy in force, with their roles and certificates.
public struct ConsoleOperator: Sendable, Codable, Equatable {
    public var name: String
    public var roles: [String]
    public var certificates: [ConsoleCertificate]
    public init(name: String, roles: [String], certificates: [ConsoleCertificate]) {
        self.name = name
        self.roles = roles
        self.certificates = certificates
    }
}

/// Partners, operators and the certificates the site issued them; revocation.
public protocol ConsolePartners: Sendable {
    func partners() throws -> [ConsolePartner]
    func operators() throws -> [ConsoleOperator]
    /// Revokes an issued certificate at once: the revocation list is written and the trust in force updated, which
    /// closes the connections it no longer admits. Audited with `actor`.
    func revoke(serial: String, by actor: String) async throws
}

extension ConsolePartners {
    /// How far ahead the page warns of a certificate's expiry.
    public static var expiryWarning: TimeInterval { 30 * 86400 }
}

import ArgumentParser
import Foundation
import VeilAlerts
import VeilFederation

struct CertsFolder: ParsableArguments {
    @Option(name: .customLong("certs"), help: ArgumentHelp("The PKI folder.", valueName: "dir"))
    var directory: String = "certs"

    var authority: SiteAuthority { SiteAuthority(directory: directory) }
}

/// Runs a PKI operation, turning a ``FederationError`` into a clear message and exit code 1.
func federationOperation<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as FederationError {
        printError("error: \(error.description)")
        throw ExitCode(1)
    }
}

/// Runs an alert-journal operation, turning an ``AlertsError`` into a clear message and exit code 1.
func alertsOperation<T>(_ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let error as AlertsError {
        printError("error: \(error.description)")
        throw ExitCode(1)
    }
}

import ArcanosCore
import Foundation
import PostgresNIO

/// A `postgres://user:password@host:port/database?sslmode=…` URL, parsed. Its `description` leaves the
/// password out, so it can go into logs and start-up errors.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (libpq's default).
        case prefer
        /// TLS or no connection.
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// Throws `invalidRequest` saying what is wrong, without repeating the URL (it may hold a password).
    public init(_ string: String) throws {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased())
        else {
            throw ArcanosError.invalidRequest("must be a URL of the form postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ArcanosError.invalidRequest("has no host (postgres://user:password@host:port/database)")
        }
        guard let username = components.user, !username.isEmpty else {
            throw ArcanosError.invalidRequest("has no user name (postgres://user:password@\(host)/database)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw ArcanosError.invalidRequest("has port \(port) for \(host); it must be between 1 and 65535")
        }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw ArcanosError.invalidRequest("has an unknown parameter \(item.name); only sslmode is read")
            }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                let modes = SSLMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw ArcanosError.invalidRequest("sslmode must be one of \(modes)")
            }
            sslMode = mode
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.host = host
        self.port = port
        self.username = username
        self.password = components.password
        self.database = path.isEmpty ? username : path
        self.sslMode = sslMode
    }

    /// `postgres://user@host:port/database`: never the password.
    public var description: String {
        "postgres://\(self.username)@\(self.host):\(self.port)/\(self.database)"
    }

    /// The client's configuration: at most `poolSize` connections.
    public func clientConfiguration(poolSize: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch self.sslMode {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: tls
        )
        configuration.options.maximumConnections = poolSize
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// The same settings for one connection outside the pool.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch self.sslMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: self.host,
            port: self.port,
            username: self.username,
            password: self.password,
            database: self.database,
            tls: tls
        )
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}

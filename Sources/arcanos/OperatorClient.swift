import ArcanosCore
import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Options shared by the commands that talk to a running server (`arcanos status`, `arcanos heal`).
struct OperatorOptions: ParsableArguments {
    @Option(help: "Base URL of the server.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "Operator key sent as `Authorization: Bearer` (default: the ARCANOS_API_KEY variable).")
    var apiKey: String?

    @Flag(help: "Print the server's JSON instead of tables, for scripts.")
    var json = false

    /// `--api-key`, else `ARCANOS_API_KEY` from the environment.
    func resolvedAPIKey(reader: ConfigReader = ConfigReader(provider: EnvironmentVariablesProvider())) -> String? {
        if let apiKey, !apiKey.isEmpty { return apiKey }
        let value = reader.string(forKey: ConfigKey(["arcanos", "api", "key"]), isSecret: true)
        return value.flatMap { $0.isEmpty ? nil : $0 }
    }

    func validate() throws {
        guard let url = URL(string: self.url), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else { throw ValidationError("--url must be an http:// or https:// URL") }
    }
}

/// Exit statuses of the operator commands, documented in the README for cron jobs and CI.
enum OperatorExit {
    /// Healthy (or only a warning), or a heal that ran and was verified, or a plan returned.
    static let success: Int32 = 0
    /// A heal ran but was not verified; or a warning with `--fail-on-warning`.
    static let failed: Int32 = 1
    /// Severity is critical.
    static let critical: Int32 = 2
    /// The server could not be reached, refused the key, or answered something unexpected.
    static let unreachable: Int32 = 3
    /// A heal needs a person's confirmation that was not given.
    static let confirmationRequired: Int32 = 4
    /// Too many heals: the server's rate limit answered 429.
    static let rateLimited: Int32 = 5
}

/// A minimal client of a running server's operator routes.
struct OperatorClient {
    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        /// The body decoded once; nil when it is not JSON.
        let json: JSONValue?

        init(status: Int, headers: [String: String], body: Data) {
            self.status = status
            self.headers = headers
            self.body = body
            self.json = try? JSONDecoder().decode(JSONValue.self, from: body)
        }
    }

    /// Why talking to the server failed, for the operator.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let baseURL: String
    let apiKey: String?

    init(options: OperatorOptions) {
        self.baseURL = options.url.hasSuffix("/") ? String(options.url.dropLast()) : options.url
        self.apiKey = options.resolvedAPIKey()
    }

    init(baseURL: String, apiKey: String?) {
        self.baseURL = baseURL
        self.apiKey = apiKey
    }

    func get(_ path: String) async throws -> Reply {
        try await self.send(path, body: nil, headers: [:])
    }

    func post(_ path: String, json: String, headers: [String: String] = [:]) async throws -> Reply {
        try await self.send(path, body: json, headers: headers)
    }

    /// A GET, or a POST when there is a body.
    private func send(_ path: String, body: String?, headers: [String: String]) async throws -> Reply {
        var request = HTTPClientRequest(url: self.baseURL + path)
        if body != nil { request.method = .POST }
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: "arcanos-cli")
        if let apiKey { request.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        // A client of its own: a refused connection fails at once instead of being retried until the deadline,
        // so `arcanos status` against a server that is down answers in milliseconds, not 30 s.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.clientConfiguration)
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let collected = try await response.body.collect(upTo: 16 << 20)
            var fields: [String: String] = [:]
            for header in response.headers { fields[header.name.lowercased()] = header.value }
            try? await client.shutdown()
            return Reply(status: Int(response.status.code), headers: fields, body: Data(buffer: collected))
        } catch {
            try? await client.shutdown()
            throw Failure(description: "cannot reach \(self.baseURL): \(error)")
        }
    }

    static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5))
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// The server's `{error, message}` text for a reply that is not a success.
    static func describe(_ reply: Reply) -> String {
        let message = reply.json?["message"]?.stringValue ?? reply.json?["error"]?.stringValue ?? "no details"
        switch reply.status {
        case 401: return "the server refused the operator key (HTTP 401): set --api-key or ARCANOS_API_KEY"
        default: return "the server answered HTTP \(reply.status): \(message)"
        }
    }
}

/// Left-aligned text columns for terminal output.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        let all = [self.header] + self.rows
        var widths = Array(repeating: 0, count: self.header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        var lines = [line(self.header), line(widths.map { String(repeating: "-", count: $0) })]
        lines += self.rows.map(line)
        return lines.joined(separator: "\n")
    }
}

extension JSONValue {
    var text: String {
        switch self {
        case .null: "—"
        case .bool(let value): value ? "yes" : "no"
        case .number(let value): value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): value
        case .array(let values): values.map(\.text).joined(separator: ", ")
        case .object(let members):
            // An ErrorSummary reads best as "category: message".
            if let category = members["category"]?.stringValue, let message = members["message"]?.stringValue {
                "\(category): \(message)"
            } else {
                members.keys.sorted().map { "\($0)=\(members[$0]!.text)" }.joined(separator: " ")
            }
        }
    }

    var arrayValue: [JSONValue] {
        if case .array(let values) = self { return values }
        return []
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}

extension Optional where Wrapped == JSONValue {
    var text: String { self?.text ?? "—" }
}

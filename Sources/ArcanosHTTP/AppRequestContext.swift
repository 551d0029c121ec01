import ArcanosCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// The request context of every Arcanos route.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The validated prompt of an AI route, parsed once by `AIFallbackMiddleware`.
    public var askInput: AskInput?
    /// How the confirmation gate approved this request; set by `ConfirmationGateMiddleware` on gated routes.
    public var confirmation: ConfirmationContext?

    /// The peer of the connection (nil in router tests); `GET /workers/status?view=detail` trusts loopback
    /// peers when no operator keys are configured.
    public var remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    // The real limit is enforced earlier by `RequestBodyMiddleware`, from configuration.
    public var maxUploadSize: Int { 64 << 20 }

    // One encoder for every response: configured once, never mutated, so building one per response is
    // needless work on the hot path.
    public var responseEncoder: JSONEncoder { Self.sharedEncoder }

    static let sharedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601Milliseconds
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
}

extension Response {
    /// `value` as a JSON body, encoded by the shared response encoder: how every route, the gate and the error
    /// path answer with a document.
    static func json(
        _ value: some Encodable,
        status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) throws -> Response {
        Self.json(
            bytes: ByteBuffer(data: try AppRequestContext.sharedEncoder.encode(value)),
            status: status,
            headers: headers
        )
    }

    /// A body already written as JSON (the `/ask` answers, built by `JSONWriter` on the hot path), with the
    /// headers every JSON response has: the content type and `no-store`.
    static func json(bytes: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: .init(byteBuffer: bytes))
    }
}

extension Request {
    /// Decodes a JSON body strictly: malformed JSON, missing fields and wrong types are 400
    /// `invalid_request` with a message that names the field but never echoes the body.
    public mutating func decodeJSON<Value: Decodable>(
        _ type: Value.Type,
        context: AppRequestContext
    ) async throws -> Value {
        let buffer = try await self.collectBody(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else { throw ArcanosError.invalidRequest("request body must be a JSON object") }
        do {
            return try Self.bodyDecoder.decode(Value.self, from: buffer)
        } catch let error as DecodingError {
            throw ArcanosError.invalidRequest(Self.describe(error))
        } catch let error as ArcanosError {
            throw error
        } catch {
            throw ArcanosError.invalidRequest("request body is not valid JSON")
        }
    }

    private static let bodyDecoder = JSONDecoder()

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let joined = codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return joined.isEmpty ? "body" : joined
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.describe(type))"
        case .dataCorrupted(let context):
            if let underlying = context.underlyingError as? ArcanosError { return underlying.message }
            return context.codingPath.isEmpty
                ? "request body is not valid JSON" : "\(path(context.codingPath)) is invalid"
        @unknown default:
            return "request body is invalid"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Double.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

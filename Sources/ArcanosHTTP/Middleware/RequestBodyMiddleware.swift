import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Every request body passes here, on every route, before anything else reads it. It reads the whole body
/// up to the configured limit (a larger one is 413 without being buffered; later readers get the collected
/// bytes), so a body that cannot be read — broken chunked framing, a transfer coding the server does not
/// speak, fewer bytes than `Content-Length` promised — is a 400 here rather than a failure further in. A body
/// that is not empty must be declared `application/json` (415 otherwise: a browser's cross-site form or
/// `text/plain` post cannot reach a route), and its objects may not repeat a key (400, `StrictJSON`).
public struct RequestBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    public init(limit: Int) {
        self.limit = limit
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > self.limit {
            throw ArcanosError(.payloadTooLarge, "Request body is larger than \(self.limit) bytes")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: self.limit)
        } catch is NIOTooManyBytesError {
            // A chunked body, which announced no length, over the limit.
            throw ArcanosError(.payloadTooLarge, "Request body is larger than \(self.limit) bytes")
        } catch {
            // Anything else that stops the body being read is what the client sent, or how it hung up: a bad
            // chunk size, a transfer coding the server does not speak, fewer bytes than Content-Length.
            throw ArcanosError(.invalidRequest, "Malformed request body", underlying: error)
        }
        if body.readableBytes > 0 {
            guard Self.isJSON(request.headers[.contentType]) else {
                throw ArcanosError(.unsupportedMediaType, "Request bodies must be sent as application/json")
            }
            if let key = StrictJSON.firstDuplicateKey(in: body.readableBytesView) {
                throw ArcanosError.invalidRequest(Self.duplicateMessage(key))
            }
        }
        return try await next(request, context)
    }

    /// `application/json` or a `+json` type, with any parameters (`; charset=utf-8`), in any case.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let type =
            contentType.split(separator: ";", maxSplits: 1).first?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        return type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json"))
    }

    /// Names the key when it is a plain field name; never echoes arbitrary text.
    static func duplicateMessage(_ key: String) -> String {
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
        guard !key.isEmpty, key.count <= 64, key.allSatisfy(plain.contains) else {
            return "request body repeats a key"
        }
        return "request body repeats the key \"\(key)\""
    }
}

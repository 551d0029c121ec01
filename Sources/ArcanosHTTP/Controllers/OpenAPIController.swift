import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// `GET /openapi.json`: the OpenAPI document of the routes registered before it (see `buildRouter`).
struct OpenAPIController {
    let document: OpenAPIDocument
    /// `ARCANOS_PUBLIC_URL`: the server URL the document names; else taken from the request's `Host`.
    let publicURL: String?
    let fallbackHost: String

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/openapi.json", use: self.openAPI)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    @Sendable
    func openAPI(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Keys sorted, unlike the other documents: the contract reads (and diffs) the same every time.
        let body = try Self.encoder.encode(self.document.json(serverURL: self.serverURL(for: request)))
        return Response.json(bytes: ByteBuffer(data: body))
    }

    /// The public URL when configured; else `http://` plus the request's `Host` when it is a plain host[:port]
    /// (anything else could smuggle text into the document), else the listening address.
    func serverURL(for request: Request) -> String {
        if let publicURL { return publicURL }
        let host = request.head.authority ?? request.headers[.host] ?? ""
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        if !host.isEmpty, host.count <= 255, host.allSatisfy(allowed.contains) {
            return "http://\(host)"
        }
        return "http://\(self.fallbackHost)"
    }
}

import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /`: the operator dashboard, one self-contained HTML page (`DashboardPage`). It holds no data of its
/// own: its script reads the public routes and sends the operator's key, typed into the page, on the others.
struct DashboardController {
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: self.page)
    }

    @Sendable
    func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .cacheControl: "no-store",
                // Everything is inline; nothing may load from elsewhere, and no other site may frame the page.
                .contentSecurityPolicy:
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                    + "img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
                .xContentTypeOptions: "nosniff",
                .referrerPolicy: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html))
        )
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("content-security-policy")!
    static let xContentTypeOptions = Self("x-content-type-options")!
    static let referrerPolicy = Self("referrer-policy")!
}

import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /`, `GET /dashboard.css`, `GET /dashboard.js`: the operator dashboard (`DashboardAssets`), served as
/// the files are. It holds no data of its own: its script reads the public routes and sends the operator's
/// key, typed into the page, on the others.
struct DashboardController {
    /// Only this origin's files run or style the page: no inline script or style, nothing from elsewhere, and
    /// no other site may frame it.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    var assets: DashboardAssets = .bundled

    func addRoutes(to router: Router<AppRequestContext>) {
        for asset in self.assets.assets {
            router.get(RouterPath(asset.path)) { _, _ in Self.response(asset) }
        }
    }

    static func response(_ asset: DashboardAssets.Asset) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: asset.contentType,
                .cacheControl: "no-store",
                .contentSecurityPolicy: Self.contentSecurityPolicy,
                .xContentTypeOptions: "nosniff",
                .referrerPolicy: "no-referrer",
            ],
            body: .init(byteBuffer: asset.body)
        )
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("content-security-policy")!
    static let xContentTypeOptions = Self("x-content-type-options")!
    static let referrerPolicy = Self("referrer-policy")!
}

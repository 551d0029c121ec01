import Foundation
import NIOCore

/// The dashboard's files, `Dashboard/Assets` in this target's resource bundle: `dashboard.html`, served at
/// `GET /`, and the stylesheet and script it links, served at `GET /dashboard.css` and `GET /dashboard.js`.
/// No build step and nothing fetched from elsewhere.
///
/// The script polls the public routes (`/workers/status`, `/ready`, `/metrics`) and, with the operator's key
/// (typed into the page, kept in `sessionStorage` only), `/workers/heals`. "Plan" and "Heal" call
/// `POST /workers/heal`; a 403 challenge is shown with its instructions and a Confirm button that retries with
/// `x-confirmed: token:<id>`. The page marks its state on `<body>` (`data-severity`, `data-degraded`) for
/// people's stylesheets and for the screenshot check (`scripts/dashboard-check.sh`). All data is inserted as
/// text, never as markup.
struct DashboardAssets: Sendable {
    struct Asset: Sendable {
        /// The route that serves it.
        var path: String
        var contentType: String
        var body: ByteBuffer
    }

    /// The page first, then what it links.
    static let files: [(path: String, resource: String, contentType: String)] = [
        ("/", "dashboard.html", "text/html; charset=utf-8"),
        ("/dashboard.css", "dashboard.css", "text/css; charset=utf-8"),
        ("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"),
    ]

    /// Read once from the bundle, the first time a router is built; served as is afterwards.
    static let bundled = DashboardAssets(bundle: .module)

    let assets: [Asset]

    /// The files are part of the build: one missing is a broken installation, not a runtime condition.
    init(bundle: Bundle) {
        self.assets = Self.files.map { file in
            let name = file.resource as NSString
            guard
                let url = bundle.url(
                    forResource: name.deletingPathExtension,
                    withExtension: name.pathExtension,
                    subdirectory: "Assets"
                ),
                let data = try? Data(contentsOf: url)
            else {
                preconditionFailure("dashboard resource Assets/\(file.resource) is missing from \(bundle.bundlePath)")
            }
            return Asset(path: file.path, contentType: file.contentType, body: ByteBuffer(bytes: data))
        }
    }
}

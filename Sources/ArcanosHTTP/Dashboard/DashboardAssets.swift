import NIOCore

/// The dashboard's files, `Dashboard/Assets` compiled into the binary: `dashboard.html`, served at
/// `GET /`, and the stylesheet and script it links, served at `GET /dashboard.css` and `GET /dashboard.js`.
/// No build step and nothing fetched from elsewhere.
///
/// The script polls the public routes (`/workers/status`, `/ready`, `/metrics`, `/metrics/history`, which it
/// draws as inline SVG charts) and, with the operator's key (typed into the page, kept in `sessionStorage`
/// only), `/workers/heals`. "Plan" and "Heal" call `POST /workers/heal`; a 403 challenge is shown with its
/// instructions and a Confirm button that retries with `x-confirmed: token:<id>`. The page marks its state on
/// `<body>` (`data-severity`, `data-degraded`), the replica table (`data-replicas`) and each chart
/// (`data-points`) for people's stylesheets and for the screenshot check (`scripts/dashboard-check.sh`). All
/// data is inserted as text or attributes, never as markup.
struct DashboardAssets: Sendable {
    struct Asset: Sendable {
        /// The route that serves it.
        var path: String
        var contentType: String
        var body: ByteBuffer
    }

    /// The page first, then what it links; served as is.
    static let bundled = DashboardAssets(assets: [
        Asset(
            path: "/",
            contentType: "text/html; charset=utf-8",
            body: ByteBuffer(bytes: PackageResources.dashboard_html)
        ),
        Asset(
            path: "/dashboard.css",
            contentType: "text/css; charset=utf-8",
            body: ByteBuffer(bytes: PackageResources.dashboard_css)
        ),
        Asset(
            path: "/dashboard.js",
            contentType: "text/javascript; charset=utf-8",
            body: ByteBuffer(bytes: PackageResources.dashboard_js)
        ),
    ])

    let assets: [Asset]
}

/// The dashboard served at `GET /`: HTML, CSS and script inline, no build step, nothing fetched from elsewhere.
enum DashboardPage {
    static let html = #"""
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Arcanos</title></head>
        <body><h1>Arcanos</h1></body></html>
        """#
}

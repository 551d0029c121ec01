import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct DashboardRouteTests {
    static let csp = HTTPField.Name("content-security-policy")!

    func withClient(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await RouterHarness(provider: ScriptedLLMProvider()).makeApplication().test(.router) { client in
            try await body(client)
        }
    }

    @Test func thePageLinksItsStylesheetAndScriptUnderACSPWithoutInlineCode() async throws {
        try await self.withClient { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(page.headers[Self.csp])
            #expect(csp.contains("script-src 'self'") && csp.contains("style-src 'self'"))
            #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"))
            #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
            let html = String(buffer: page.body)
            #expect(html.contains(#"<link rel="stylesheet" href="/dashboard.css">"#))
            #expect(html.contains(#"<script src="/dashboard.js"></script>"#))
            // What that CSP would block: a style element or attribute, a script with a body, an event handler.
            #expect(!html.contains("<style"))
            #expect(html.range(of: #"\sstyle\s*="#, options: .regularExpression) == nil)
            #expect(html.components(separatedBy: "<script").count == 2)
            #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil)
            #expect(html.contains(#"<body data-severity="unknown" data-degraded="unknown">"#))
            // The marks the script updates once it has drawn: the replica table and every chart.
            #expect(html.contains(#"<table id="replicas" data-replicas="0">"#))
            for chart in ["requests", "degraded", "p99", "queue", "breakers"] {
                #expect(html.contains(#"<svg id="ch-\#(chart)" class="series-\#(chart)" data-points="0""#), "\(chart)")
            }
        }
    }

    @Test func theStylesheetAndTheScriptAreServedWithTheirTypes() async throws {
        try await self.withClient { client in
            let css = try await client.execute(uri: "/dashboard.css", method: .get)
            #expect(css.status == .ok)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.headers[HTTPField.Name("x-content-type-options")!] == "nosniff")
            #expect(String(buffer: css.body).contains(".banner.degraded"))
            let js = try await client.execute(uri: "/dashboard.js", method: .get)
            #expect(js.status == .ok)
            #expect(js.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(js.headers[HTTPField.Name("x-content-type-options")!] == "nosniff")
            #expect(String(buffer: js.body).contains("document.body.dataset.severity"))
        }
    }

    /// The script finds the page's elements by id: every id it asks for is in the page, and every class the
    /// page or the script uses has a rule in the stylesheet.
    @Test func theScriptTheStylesheetAndThePageAgree() async throws {
        try await self.withClient { client in
            let html = String(buffer: try await client.execute(uri: "/", method: .get).body)
            let js = String(buffer: try await client.execute(uri: "/dashboard.js", method: .get).body)
            let css = String(buffer: try await client.execute(uri: "/dashboard.css", method: .get).body)
            // `$(id)`, `text(id, …)` and `rows(id, …)` look elements up by id.
            let ids = Self.captures(#"(?:\$|text|rows)\("([a-z-]+)""#, in: js)
            #expect(ids.count > 30)
            for id in ids {
                #expect(html.contains(#"id="\#(id)""#), "the script uses #\(id), which the page does not have")
            }
            var classes: Set<String> = []
            for list in Self.captures(#"class="([^"]+)""#, in: html) {
                classes.formUnion(list.split(separator: " ").map(String.init))
            }
            for name in classes {
                #expect(css.contains(".\(name)"), "class \(name) has no rule in the stylesheet")
            }
        }
    }

    static func captures(_ pattern: String, in text: String) -> Set<String> {
        let regex = try! NSRegularExpression(pattern: pattern)
        let matches = regex.matches(in: text, range: NSRange(text.startIndex..., in: text))
        return Set(matches.compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } })
    }
}

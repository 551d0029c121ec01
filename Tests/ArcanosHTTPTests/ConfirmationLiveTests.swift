import Foundation
import Testing

/// `POST /confirm/tokens` on the real server wiring (`ArcanosServer`), through real sockets.
@Suite(.timeLimit(.minutes(1))) struct ConfirmationLiveTests {
    static let secret = "live-automation-secret-0123456789abcdef"

    @Test func mintsTokensOnlyForTheAutomationSecretUnderTheConfiguredHeader() async throws {
        let environment = ["ARCANOS_AUTOMATION_SECRET": Self.secret, "ARCANOS_AUTOMATION_HEADER": "X-Ops-Robot"]
        try await withLiveServer(environment: environment) { server in
            let minted = try await post(server + "/confirm/tokens", json: "", headers: ["x-ops-robot": Self.secret])
            #expect(minted.status == 201)
            #expect(minted.headers["cache-control"] == "no-store")
            let token = try #require(minted.json["token"] as? String)
            #expect(token.count == 32 && token.allSatisfy(\.isHexDigit))
            #expect(minted.json["expiresAt"] is String)

            let again = try await post(server + "/confirm/tokens", json: "", headers: ["x-ops-robot": Self.secret])
            #expect(again.json["token"] as? String != token)

            let underDefault = try await post(
                server + "/confirm/tokens",
                json: "",
                headers: ["x-arcanos-automation": Self.secret]
            )
            #expect(underDefault.status == 401)
            #expect(underDefault.json["error"] as? String == "unauthorized")

            let wrong = try await post(
                server + "/confirm/tokens",
                json: "",
                headers: ["x-ops-robot": Self.secret + "x"]
            )
            #expect(wrong.status == 403)
            #expect(wrong.json["error"] as? String == "forbidden")
            for response in [underDefault, wrong] {
                #expect(!response.body.contains(Self.secret))
                #expect(!response.body.contains("x-ops-robot"))
            }
        }
    }
}

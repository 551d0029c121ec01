import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import ArcanosTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// The confirmation gate through the real router: `buildRouter` plus test routes put behind the gate the
/// way the control routes are (`confirmationGated`), sharing the one `ConfirmationService` with
/// `POST /confirm/tokens`.
@Suite(.timeLimit(.minutes(1))) struct ConfirmationGateRouterTests {
    static let secret = "automation-secret-for-tests-0123456789"
    static let trustedID = "g-trusted-operator-gpt"
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// What the gated test route saw.
    struct Seen: ResponseEncodable, Decodable {
        var status: String?
        var gptID: String?
        var trustedAutomation: Bool?
        var manualConfirmation: Bool?
    }

    struct Harness {
        let confirmation: ConfirmationService
        let clock: ConfirmationTestClock
        let logs: CapturedLogs
        let handlerCalls = ConfirmationCallCounter()

        init(configure: (inout AppConfiguration) -> Void = { _ in }) {
            var configuration = AppConfiguration()
            configuration.confirmation.trustedGPTIDs = [ConfirmationGateRouterTests.trustedID]
            configuration.confirmation.automationSecret = ConfirmationGateRouterTests.secret
            configure(&configuration)
            let clock = ConfirmationTestClock(ConfirmationGateRouterTests.start)
            self.clock = clock
            self.confirmation = ConfirmationService(configuration: configuration.confirmation.gate, now: { clock.now })
            self.logs = CapturedLogs()
            self.configuration = configuration
        }

        let configuration: AppConfiguration

        func makeApplication() -> some ApplicationProtocol {
            let client = ResilientLLMClient(
                provider: nil,
                configuration: .init(models: ["test-model"]),
                logger: self.logs.logger
            )
            let router = buildRouter(
                HTTPDependencies(
                    configuration: self.configuration.http,
                    askService: AskService(client: client),
                    readiness: [],
                    confirmation: self.confirmation
                )
            )
            let seen: @Sendable (Request, AppRequestContext) async throws -> Seen = {
                [handlerCalls = self.handlerCalls] _, context in
                handlerCalls.increment()
                return Seen(
                    status: context.confirmation?.status.rawValue,
                    gptID: context.confirmation?.gptID,
                    trustedAutomation: context.confirmation?.trustedAutomation,
                    manualConfirmation: context.confirmation?.manualConfirmation
                )
            }
            // A public route next to gated ones, as /workers/status sits next to /workers/heal.
            router.group("test").get("status", use: seen)
            router.confirmationGated("test", self.confirmation)
                .post("heal", use: seen)
                .post("run/:workerId", use: seen)
                .post("fails") { _, _ -> Seen in throw ArcanosError.invalidRequest("execute must be a boolean") }
            return Application(router: router, logger: self.logs.logger)
        }
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8))) as? [String: Any] ?? [:]
    }

    static func headers(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    // MARK: 403

    @Test func unconfirmedRequestGets403WithTheChallengeHeadersAndBody() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-gpt-id", "ft:someone-else"), ("x-confirmed", "true")])
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.confirmationStatus] == "pending")
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
                let challengeID = try #require(response.headers[.confirmationChallenge])
                #expect(challengeID.count == 32 && challengeID.allSatisfy(\.isHexDigit))

                let body = Self.json(response.body)
                #expect(
                    Set(body.keys) == [
                        "error", "code", "message", "endpoint", "method", "gptId", "confirmationRequired",
                        "confirmationStatus", "confirmationChallenge", "timestamp",
                    ]
                )
                #expect(body["error"] as? String == "Confirmation required")
                #expect(body["code"] as? String == "CONFIRMATION_REQUIRED")
                #expect(body["endpoint"] as? String == "/test/heal")
                #expect(body["method"] as? String == "POST")
                #expect(body["gptId"] as? String == "ft:someone-else")
                #expect(body["confirmationRequired"] as? Bool == true)
                #expect(body["confirmationStatus"] as? String == "pending")
                #expect(body["timestamp"] as? String == "2027-01-15T08:00:00.000Z")
                let challenge = try #require(body["confirmationChallenge"] as? [String: Any])
                #expect(Set(challenge.keys) == ["id", "issuedAt", "expiresAt", "ttlMs", "instructions"])
                #expect(challenge["id"] as? String == challengeID)
                #expect(challenge["issuedAt"] as? String == "2027-01-15T08:00:00.000Z")
                #expect(challenge["expiresAt"] as? String == "2027-01-15T08:02:00.000Z")
                #expect(challenge["ttlMs"] as? Int == 120_000)
                let instructions = try #require(challenge["instructions"] as? [String])
                #expect(instructions.contains { $0.contains("x-confirmed: token:\(challengeID)") })

                let text = String(buffer: response.body)
                for secretish in [Self.secret, Self.trustedID, "x-arcanos-automation", "TRUSTED_GPT_IDS", "secret"] {
                    #expect(!text.contains(secretish))
                }
            }
        }
        #expect(harness.handlerCalls.value == 0)
    }

    @Test func gptIdIsNullInThe403WhenNotSent() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/heal", method: .post) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains(#""gptId":null"#))
            }
        }
    }

    @Test func routesOutsideTheGateAreUntouched() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.confirmationStatus] == nil)
            }
        }
    }

    // MARK: passing

    @Test func challengeTokenRoundTripPassesOnceForTheSameMethodAndPath() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let id = try await client.execute(uri: "/test/heal", method: .post) { response in
                try #require(response.headers[.confirmationChallenge])
            }
            let confirm = Self.headers([("X-Confirmed", "token:\(id)")])
            try await client.execute(uri: "/test/heal", method: .post, headers: confirm) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.confirmationStatus] == "challenge-token")
                let seen = try JSONDecoder().decode(Seen.self, from: Data(String(buffer: response.body).utf8))
                #expect(seen.status == "challenge-token")
                #expect(seen.manualConfirmation == true)
                #expect(seen.trustedAutomation == false)
            }
            try await client.execute(uri: "/test/heal", method: .post, headers: confirm) { response in
                #expect(response.status == .forbidden, "a replayed challenge must fail")
                #expect(response.headers[.confirmationChallenge] != id)
            }
        }
        #expect(harness.handlerCalls.value == 1)
    }

    @Test func challengeIssuedForOnePathFailsOnAnotherAndIsBurned() async throws {
        try await Harness().makeApplication().test(.router) { client in
            let id = try await client.execute(uri: "/test/run/arcanos", method: .post) { response in
                try #require(response.headers[.confirmationChallenge])
            }
            let confirm = Self.headers([("x-confirmed", "token:\(id)")])
            try await client.execute(uri: "/test/heal", method: .post, headers: confirm) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/test/run/arcanos", method: .post, headers: confirm) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func challengeExpiresOnTheInjectedClock() async throws {
        let harness = Harness { $0.confirmation.challengeTimeToLive = .seconds(5) }
        try await harness.makeApplication().test(.router) { client in
            let id = try await client.execute(uri: "/test/heal", method: .post) { response in
                try #require(response.headers[.confirmationChallenge])
            }
            harness.clock.advance(by: 5)
            try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-confirmed", "token:\(id)")])
            ) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test(arguments: [
        ([("X-CONFIRMED", " Yes ")], "confirmed", false),
        ([("X-Arcanos-Automation", Self.secret)], "automation-secret", true),
        ([("X-GPT-ID", Self.trustedID)], "trusted-gpt", true),
    ])
    func approvedRequestsReachTheRouteWithTheirStatus(
        headers: [(String, String)],
        status: String,
        trustedAutomation: Bool
    ) async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/heal", method: .post, headers: Self.headers(headers)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.confirmationStatus] == status)
                let seen = try JSONDecoder().decode(Seen.self, from: Data(String(buffer: response.body).utf8))
                #expect(seen.status == status)
                #expect(seen.trustedAutomation == trustedAutomation)
                #expect(seen.manualConfirmation == !trustedAutomation)
            }
        }
    }

    @Test func trustedGPTReachesTheRouteWithItsID() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-gpt-id", Self.trustedID)])
            ) { response in
                let seen = try JSONDecoder().decode(Seen.self, from: Data(String(buffer: response.body).utf8))
                #expect(seen.gptID == Self.trustedID)
            }
        }
    }

    @Test func allowAllGPTsPassesEveryRequestAsAutoAllowed() async throws {
        try await Harness { $0.confirmation.allowAllGPTs = true }.makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/heal", method: .post) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.confirmationStatus] == "auto-allowed")
            }
        }
    }

    @Test(arguments: ["true", "1", "no"])
    func xConfirmedValuesOtherThanYesAreTurnedAway(value: String) async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/heal", method: .post, headers: Self.headers([("x-confirmed", value)]))
            {
                response in
                #expect(response.status == .forbidden)
            }
        }
    }

    @Test func errorsOfAGatedRouteStillCarryTheConfirmationStatus() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/test/fails", method: .post, headers: Self.headers([("x-confirmed", "yes")]))
            {
                response in
                #expect(response.status == .badRequest)
                #expect(response.headers[.confirmationStatus] == "confirmed")
                let body = Self.json(response.body)
                #expect(body["error"] as? String == "invalid_request")
                #expect(body["message"] as? String == "execute must be a boolean")
            }
        }
    }

    // MARK: POST /confirm/tokens

    @Test func mintedTokenApprovesOneRequest() async throws {
        try await Harness().makeApplication().test(.router) { client in
            let token = try await client.execute(
                uri: "/confirm/tokens",
                method: .post,
                headers: Self.headers([("x-arcanos-automation", Self.secret)])
            ) { response in
                #expect(response.status == .created)
                #expect(response.headers[.cacheControl] == "no-store")
                let body = Self.json(response.body)
                #expect(Set(body.keys) == ["token", "expiresAt"])
                #expect(body["expiresAt"] as? String == "2027-01-15T08:10:00.000Z")
                return try #require(body["token"] as? String)
            }
            let use = Self.headers([("X-Arcanos-Confirm-Token", token)])
            try await client.execute(uri: "/test/run/arcanos", method: .post, headers: use) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.confirmationStatus] == "one-time-token")
                let seen = try JSONDecoder().decode(Seen.self, from: Data(String(buffer: response.body).utf8))
                #expect(seen.trustedAutomation == true)
            }
            try await client.execute(uri: "/test/run/arcanos", method: .post, headers: use) { response in
                #expect(response.status == .forbidden, "a reused token must fail")
            }
        }
    }

    @Test func mintingWithoutTheSecretIs401AndWithAWrongOneIs403() async throws {
        try await Harness().makeApplication().test(.router) { client in
            try await client.execute(uri: "/confirm/tokens", method: .post) { response in
                #expect(response.status == .unauthorized)
                #expect(Self.json(response.body)["error"] as? String == "unauthorized")
                #expect(Self.json(response.body)["message"] is String)
            }
            for wrong in [String(Self.secret.dropLast()), Self.secret + "x", String(Self.secret.dropLast()) + "Z"] {
                try await client.execute(
                    uri: "/confirm/tokens",
                    method: .post,
                    headers: Self.headers([("x-arcanos-automation", wrong)])
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(Self.json(response.body)["error"] as? String == "forbidden")
                    #expect(!String(buffer: response.body).contains(Self.secret))
                }
            }
        }
    }

    @Test func customAutomationHeaderReplacesTheDefault() async throws {
        let harness = Harness { $0.confirmation.automationHeader = "x-ops-robot" }
        try await harness.makeApplication().test(.router) { client in
            let underDefault = Self.headers([("x-arcanos-automation", Self.secret)])
            try await client.execute(uri: "/confirm/tokens", method: .post, headers: underDefault) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/test/heal", method: .post, headers: underDefault) { response in
                #expect(response.status == .forbidden)
            }
            let underCustom = Self.headers([("X-Ops-Robot", Self.secret)])
            try await client.execute(uri: "/confirm/tokens", method: .post, headers: underCustom) { response in
                #expect(response.status == .created)
            }
            try await client.execute(uri: "/test/heal", method: .post, headers: underCustom) { response in
                #expect(response.headers[.confirmationStatus] == "automation-secret")
            }
        }
    }

    @Test func noSecretConfiguredMeansNoTokens() async throws {
        try await Harness { $0.confirmation.automationSecret = nil }.makeApplication().test(.router) { client in
            try await client.execute(
                uri: "/confirm/tokens",
                method: .post,
                headers: Self.headers([("x-arcanos-automation", "")])
            ) { response in
                #expect(response.status == .forbidden)
            }
        }
    }

    // MARK: bound and logs

    @Test func manyUnconfirmedRequestsLeaveTheChallengeStoreAtItsBound() async throws {
        let harness = Harness { $0.confirmation.challengeCapacity = 50 }
        try await harness.makeApplication().test(.router) { client in
            for _ in 0..<500 {
                try await client.execute(uri: "/test/heal", method: .post) { response in
                    #expect(response.status == .forbidden)
                }
            }
        }
        #expect(try await harness.confirmation.challengeCount() == 50)
    }

    @Test func decisionsAreLoggedWithoutSecretsOrChallengeIDs() async throws {
        let harness = Harness()
        try await harness.makeApplication().test(.router) { client in
            let id = try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-gpt-id", "ft:stranger")])
            ) { response in
                try #require(response.headers[.confirmationChallenge])
            }
            try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-confirmed", "token:\(id)")])
            ) { _ in }
            try await client.execute(
                uri: "/test/heal",
                method: .post,
                headers: Self.headers([("x-arcanos-automation", Self.secret)])
            ) { _ in }
            let decisions = harness.logs.entries.filter { $0.message == "confirmation decision" }
            #expect(decisions.map(\.level) == [.info, .info, .info])
            #expect(
                decisions.map { $0.metadata["confirmation.status"] } == [
                    "pending", "challenge-token", "automation-secret",
                ]
            )
            #expect(
                decisions.allSatisfy {
                    $0.metadata["http.method"] == "POST" && $0.metadata["http.path"] == "/test/heal"
                }
            )
            #expect(decisions.first?.metadata["gpt.id"] == "ft:stranger")
            let everything = harness.logs.entries.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!everything.contains(id))
            #expect(!everything.contains(Self.secret))
        }
    }
}

/// Counts calls of the gated test route.
final class ConfirmationCallCounter: Sendable {
    private let count = Mutex(0)

    var value: Int { self.count.withLock { $0 } }

    func increment() {
        self.count.withLock { $0 += 1 }
    }
}

/// A wall clock the test moves by hand.
final class ConfirmationTestClock: Sendable {
    private let value: Mutex<Date>

    init(_ start: Date) {
        self.value = Mutex(start)
    }

    var now: Date { self.value.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        self.value.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

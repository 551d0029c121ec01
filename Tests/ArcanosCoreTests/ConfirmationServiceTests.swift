import ArcanosCore
import Foundation
import Synchronization
import Testing

@Suite struct ConfirmationServiceTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A wall clock the test moves by hand.
    final class ManualClock: Sendable {
        private let value = Mutex(ConfirmationServiceTests.start)
        var now: Date { self.value.withLock { $0 } }
        func advance(by seconds: TimeInterval) { self.value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    @Test(.timeLimit(.minutes(1)))
    func oneHundredThousandUnconfirmedRequestsLeaveTheChallengeStoreAtItsBound() async throws {
        let service = ConfirmationService(configuration: .init(challengeCapacity: 10_000))
        let request = ConfirmationRequest(method: "POST", path: "/workers/heal", headers: ["x-confirmed": "no"])
        var first: ConfirmationChallenge?
        var last: ConfirmationChallenge?
        for _ in 0..<100_000 {
            guard case .pending(let challenge, _) = try await service.decide(request) else {
                Issue.record("an unconfirmed request passed")
                return
            }
            if first == nil { first = challenge }
            last = challenge
        }
        #expect(try await service.challengeCount() == 10_000)
        let replayFirst = ConfirmationRequest(
            method: "POST",
            path: "/workers/heal",
            headers: ["x-confirmed": "token:\(first!.id)"]
        )
        let useLast = ConfirmationRequest(
            method: "POST",
            path: "/workers/heal",
            headers: ["x-confirmed": "token:\(last!.id)"]
        )
        #expect(try await service.decide(replayFirst).status == nil, "the oldest challenge was evicted")
        #expect(try await service.decide(useLast).status == .challengeToken, "the newest challenge is still usable")
    }

    @Test func challengesExpireWithTheInjectedClock() async throws {
        let clock = ManualClock()
        let service = ConfirmationService(
            configuration: .init(challengeTimeToLive: .seconds(30)),
            now: { clock.now }
        )
        let request = ConfirmationRequest(method: "POST", path: "/devops/self-test")
        guard case .pending(let challenge, _) = try await service.decide(request) else {
            Issue.record("expected a challenge")
            return
        }
        #expect(challenge.expiresAt == Self.start.addingTimeInterval(30))
        clock.advance(by: 30)
        let late = ConfirmationRequest(
            method: "POST",
            path: "/devops/self-test",
            headers: ["X-Confirmed": "token:\(challenge.id)"]
        )
        #expect(try await service.decide(late).status == nil)
    }

    @Test func expiredChallengesAreDroppedAsNewOnesAreIssued() async throws {
        let clock = ManualClock()
        let service = ConfirmationService(configuration: .init(challengeTimeToLive: .seconds(10)), now: { clock.now })
        let request = ConfirmationRequest(method: "POST", path: "/workers/heal")
        for _ in 0..<50 { _ = try await service.decide(request) }
        #expect(try await service.challengeCount() == 50)
        clock.advance(by: 10)
        _ = try await service.decide(request)
        #expect(try await service.challengeCount() == 1)
    }

    @Test func mintedTokensAreSingleUseAndExpire() async throws {
        let clock = ManualClock()
        let service = ConfirmationService(configuration: .init(tokenTimeToLive: .seconds(60)), now: { clock.now })
        let first = try await service.mintToken()
        let second = try await service.mintToken()
        #expect(first.token != second.token)
        #expect(first.expiresAt == Self.start.addingTimeInterval(60))
        let useFirst = ConfirmationRequest(
            method: "POST",
            path: "/workers/heal",
            headers: ["x-arcanos-confirm-token": first.token]
        )
        #expect(try await service.decide(useFirst).status == .oneTimeToken)
        #expect(try await service.decide(useFirst).status == nil)
        clock.advance(by: 60)
        let useSecond = ConfirmationRequest(
            method: "POST",
            path: "/workers/heal",
            headers: ["x-arcanos-confirm-token": second.token]
        )
        #expect(try await service.decide(useSecond).status == nil)
    }

    @Test func tokenStoreIsBounded() async throws {
        let service = ConfirmationService(configuration: .init(tokenCapacity: 3))
        let oldest = try await service.mintToken()
        for _ in 0..<10 { _ = try await service.mintToken() }
        #expect(try await service.tokenCount() == 3)
        let request = ConfirmationRequest(method: "POST", path: "/", headers: ["x-arcanos-confirm-token": oldest.token])
        #expect(try await service.decide(request).status == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func concurrentUsesOfOneChallengeLetExactlyOneThrough() async throws {
        let service = ConfirmationService()
        guard
            case .pending(let challenge, _) = try await service.decide(
                ConfirmationRequest(method: "POST", path: "/workers/heal")
            )
        else {
            Issue.record("expected a challenge")
            return
        }
        let request = ConfirmationRequest(
            method: "POST",
            path: "/workers/heal",
            headers: ["x-confirmed": "token:\(challenge.id)"]
        )
        let passed = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask { (try? await service.decide(request).status) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(passed == 1)
    }
}

@Suite struct ConfirmationSingleUseStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func takeReturnsAValueOnceAndOnlyBeforeItExpires() {
        var store = SingleUseStore<Int>(capacity: 4)
        store.insert(1, key: "a", expiresAt: Self.start.addingTimeInterval(10), now: Self.start)
        store.insert(2, key: "b", expiresAt: Self.start.addingTimeInterval(10), now: Self.start)
        #expect(store.take("a", now: Self.start) == 1)
        #expect(store.take("a", now: Self.start) == nil)
        #expect(store.take("b", now: Self.start.addingTimeInterval(10)) == nil)
        #expect(store.count == 0)
    }

    @Test func fullStoreEvictsTheOldestSkippingTakenEntries() {
        var store = SingleUseStore<Int>(capacity: 3)
        let later = Self.start.addingTimeInterval(100)
        for (index, key) in ["a", "b", "c"].enumerated() {
            store.insert(index, key: key, expiresAt: later, now: Self.start)
        }
        #expect(store.take("a", now: Self.start) == 0)
        store.insert(3, key: "d", expiresAt: later, now: Self.start)
        store.insert(4, key: "e", expiresAt: later, now: Self.start)
        #expect(store.count == 3)
        #expect(store.take("b", now: Self.start) == nil)
        #expect(store.take("c", now: Self.start) == 2)
        #expect(store.take("d", now: Self.start) == 3)
        #expect(store.take("e", now: Self.start) == 4)
    }

    @Test func manyInsertsAndTakesKeepTheStoreBounded() {
        var store = SingleUseStore<Int>(capacity: 8)
        let later = Self.start.addingTimeInterval(100)
        for index in 0..<10_000 {
            store.insert(index, key: "k\(index)", expiresAt: later, now: Self.start)
            if index.isMultiple(of: 3) { _ = store.take("k\(index)", now: Self.start) }
            #expect(store.count <= 8)
        }
        #expect(store.take("k9998", now: Self.start) == 9998)
    }
}

extension ConfirmationDecision {
    /// The status of a passing decision; nil when pending.
    var status: ConfirmationStatus? {
        if case .proceed(let context) = self { return context.status }
        return nil
    }
}

import ArcanosCore
import Testing

@Suite struct StrictJSONTests {
    @Test(arguments: [
        (#"{"execute": true, "execute": false}"#, "execute"),
        (#"{"a":1,"\u0061":2}"#, "a"),
        (#"{"x":{"k":1,"k":2}}"#, "k"),
        (#"[{"k":1},{"k":2,"k":3}]"#, "k"),
        (#"{"a":{"b":1},"a":2}"#, "a"),
        (#"{"\ud83d\ude00":1,"😀":2}"#, "😀"),
        (#"{"quote\"d":1,"quote\"d":2}"#, "quote\"d"),
    ])
    func findsARepeatedKey(_ text: String, _ key: String) {
        #expect(StrictJSON.firstDuplicateKey(in: Array(text.utf8)) == key)
    }

    @Test(arguments: [
        #"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#,
        #"{"a":"a","b":"a"}"#,
        #"["a","a"]"#,
        #"{"a":"\"a\":1,"}"#,
        "",
        "not json at all",
        #"{"unterminated"#,
        #"{"bad escape \q":1,"bad escape \q":2}"#,
        "}}}]]]",
    ])
    func acceptsEverythingElse(_ text: String) {
        #expect(StrictJSON.firstDuplicateKey(in: Array(text.utf8)) == nil)
    }

    @Test func bytesThatAreNotContiguousAreScannedTheSame() {
        let text = #"{"k":"v","k":1}"#
        #expect(StrictJSON.firstDuplicateKey(in: text.utf8.lazy.map { $0 }) == "k")
    }

    /// Each key is added to its object's set in place: a copy of the set per key made a body with many keys
    /// cost time quadratic in their number (50,000 keys: seconds; in place, a fraction of one).
    @Test func manyKeysAreScannedInLinearTime() {
        let keys = (0..<50_000).map { #""key\#($0)":"a long enough value to skip \" quickly""# }
        let body = Array(("{" + keys.joined(separator: ",") + #","key7":0}"#).utf8)
        let start = ContinuousClock.now
        #expect(StrictJSON.firstDuplicateKey(in: body) == "key7")
        #expect(start.duration(to: .now) < .seconds(3))
    }
}

@Suite struct PublicModelNamesTests {
    @Test func credentialsGetStableAliasesOthersStayAsTheyAre() {
        let gate = ConfirmationPolicy.Configuration(
            trustedGPTIDs: ["g-operator"],
            configuredModelIDs: ["ft:gpt-4o-mini:acme:bot:1", "gpt-4o-mini"]
        )
        let names = PublicModelNames(gate)
        #expect(names.name(for: "g-operator") == "trusted-model-1")
        #expect(names.name(for: "ft:gpt-4o-mini:acme:bot:1") == "trusted-model-2")
        #expect(names.name(for: "gpt-4o-mini") == "gpt-4o-mini")
        #expect(PublicModelNames().name(for: "ft:x") == "ft:x")
    }
}

@Suite struct LoopbackHostTests {
    @Test(arguments: [
        "localhost", "LOCALHOST:8080", "localhost.", "app.localhost:1", "127.0.0.1", "127.255.0.1:65535", "[::1]",
        "[::1]:8080",
    ])
    func loopbackAuthorities(_ host: String) {
        #expect(APIKeyPolicy.isLoopbackAuthority(host))
    }

    @Test(arguments: [
        "evil.example", "127.0.0.1.evil.example", "127.evil.example", "localhost.evil.example", "128.0.0.1",
        "127.0.0.256", "127.0.0", "[::2]", "[::1]x", "localhost:", "localhost:123456", "0.0.0.0", "",
    ])
    func otherAuthorities(_ host: String) {
        #expect(!APIKeyPolicy.isLoopbackAuthority(host))
    }

    @Test func aKeylessServerServesOnlyPagesFromLoopback() {
        let keyless = APIKeyPolicy(keys: [])
        #expect(keyless.acceptsOrigin(nil))
        #expect(keyless.acceptsOrigin("http://localhost:8080") && keyless.acceptsOrigin("https://127.0.0.1"))
        #expect(!keyless.acceptsOrigin("https://evil.example") && !keyless.acceptsOrigin("null"))
        #expect(APIKeyPolicy(keys: ["k"]).acceptsOrigin("https://evil.example"))
    }

    @Test func onlyAKeylessServerChecksTheHost() {
        #expect(!APIKeyPolicy(keys: []).acceptsHost("evil.example"))
        #expect(APIKeyPolicy(keys: []).acceptsHost(nil))
        #expect(APIKeyPolicy(keys: ["k"]).acceptsHost("evil.example"))
        #expect(APIKeyPolicy(keys: [], allowUnauthenticated: true).acceptsHost("evil.example"))
    }
}

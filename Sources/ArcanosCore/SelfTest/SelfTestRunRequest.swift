import Foundation

/// The body of `POST /devops/self-test`: empty or `{}`. The server alone picks what the self-test probes, so
/// a body naming a target (or anything else) is refused instead of ignored.
public enum SelfTestRunRequest {
    /// Accepts a blank body or an empty JSON object; throws `invalid_request` for anything else.
    public static func validate(_ body: Data) throws {
        let isBlank = body.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if isBlank { return }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw ArcanosError.invalidRequest("request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw ArcanosError.invalidRequest("request body must be empty or {}")
        }
        guard object.isEmpty else {
            let names = object.keys.sorted().prefix(5).map { String($0.prefix(64)) }
            throw ArcanosError(
                .invalidRequest,
                "the self-test target is chosen by the server; the body takes no fields",
                details: ["unknownFields": .array(names.map { .string($0) })]
            )
        }
    }
}

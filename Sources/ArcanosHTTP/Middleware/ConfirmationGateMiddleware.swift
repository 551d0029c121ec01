import ArcanosCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat

/// The confirmation gate of mutating control routes (DESIGN §4, docs/confirmation.md). A request a person
/// approved, or one from a trusted automation, reaches the route with `context.confirmation` set; any other
/// is answered 403 with a new challenge. Every response of a gated route carries `x-confirmation-status`.
///
/// Put a route behind it by adding the route to a gated group:
/// `authenticated.group("workers").add(middleware: ConfirmationGateMiddleware(service: confirmation))`.
public struct ConfirmationGateMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let service: ConfirmationService

    public init(service: ConfirmationService) {
        self.service = service
    }

    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        switch try await self.service.decide(ConfirmationRequest(request)) {
        case .pending(let challenge, let gptID):
            Self.log(
                context: context,
                method: request.method,
                path: path,
                status: ConfirmationStatus.pendingValue,
                gptID: gptID
            )
            return try Self.pendingResponse(challenge: challenge, gptID: gptID)
        case .proceed(let confirmation):
            Self.log(
                context: context,
                method: request.method,
                path: path,
                status: confirmation.status.rawValue,
                gptID: confirmation.gptID
            )
            var context = context
            context.confirmation = confirmation
            var response: Response
            do {
                response = try await next(request, context)
            } catch {
                // Answered here, through the one error path, so that it carries the gate's status too.
                response = ArcanosError.response(for: error, to: request, logger: context.logger)
            }
            response.headers[.confirmationStatus] = confirmation.status.rawValue
            return response
        }
    }

    private static func log(context: Context, method: HTTPRequest.Method, path: String, status: String, gptID: String?)
    {
        // Never the challenge id, a token or a secret: only what was decided, where, and who claimed to ask.
        var metadata: Logger.Metadata = [
            "http.method": "\(method.rawValue)",
            "http.path": "\(path)",
            "confirmation.status": "\(status)",
        ]
        if let gptID { metadata["gpt.id"] = "\(gptID)" }
        context.logger.info("confirmation decision", metadata: metadata)
    }

    static func pendingResponse(challenge: ConfirmationChallenge, gptID: String?) throws -> Response {
        try Response.json(
            ConfirmationRequiredBody(
                endpoint: challenge.path,
                method: challenge.method,
                gptId: gptID,
                confirmationChallenge: .init(challenge),
                timestamp: challenge.issuedAt
            ),
            status: .forbidden,
            headers: [
                .confirmationStatus: ConfirmationStatus.pendingValue,
                .confirmationChallenge: challenge.id,
            ]
        )
    }
}

/// The 403 body of DESIGN §4, as the original system sends it, plus `message` like every other error body.
struct ConfirmationRequiredBody: Encodable {
    struct Challenge: Encodable {
        var id: String
        var issuedAt: Date
        var expiresAt: Date
        var ttlMs: Int64
        var instructions: [String]

        init(_ challenge: ConfirmationChallenge) {
            self.id = challenge.id
            self.issuedAt = challenge.issuedAt
            self.expiresAt = challenge.expiresAt
            self.ttlMs = challenge.timeToLiveMilliseconds
            self.instructions = challenge.instructions
        }
    }

    var error = "Confirmation required"
    var code = "CONFIRMATION_REQUIRED"
    var message = "This action needs a person's approval; see confirmationChallenge.instructions."
    var endpoint: String
    var method: String
    var gptId: String?
    var confirmationRequired = true
    var confirmationStatus = ConfirmationStatus.pendingValue
    var confirmationChallenge: Challenge
    var timestamp: Date

    enum CodingKeys: String, CodingKey {
        case error, code, message, endpoint, method, gptId, confirmationRequired, confirmationStatus
        case confirmationChallenge, timestamp
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.error, forKey: .error)
        try container.encode(self.code, forKey: .code)
        try container.encode(self.message, forKey: .message)
        try container.encode(self.endpoint, forKey: .endpoint)
        try container.encode(self.method, forKey: .method)
        try container.encode(self.gptId, forKey: .gptId)  // null when absent, as in the original
        try container.encode(self.confirmationRequired, forKey: .confirmationRequired)
        try container.encode(self.confirmationStatus, forKey: .confirmationStatus)
        try container.encode(self.confirmationChallenge, forKey: .confirmationChallenge)
        try container.encode(self.timestamp, forKey: .timestamp)
    }
}

extension ConfirmationRequest {
    /// The method, path and every header field of `request`.
    public init(_ request: Request) {
        self.init(
            method: request.method.rawValue,
            path: request.uri.path,
            headers: request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        )
    }
}

extension RouterMethods where Context == AppRequestContext {
    /// A group whose routes pass the confirmation gate first:
    /// `authenticated.confirmationGated("workers", service).post("heal", use: heal)`.
    public func confirmationGated(_ path: RouterPath = "", _ service: ConfirmationService) -> RouterGroup<Context> {
        self.group(path).add(middleware: ConfirmationGateMiddleware(service: service))
    }
}

extension HTTPField.Name {
    public static let confirmationStatus = Self("x-confirmation-status")!
    public static let confirmationChallenge = Self("x-confirmation-challenge")!
}

import ArcanosCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `SelfTestTransport` over AsyncHTTPClient. Redirects are a property of the client, not of a request, so
/// the client given here must be configured with `redirectConfiguration: .disallow` (the server's shared
/// client is; `makeHTTPClient()` builds one): a 3xx then comes back as a status and fails the prompt.
public struct HTTPClientSelfTestTransport: SelfTestTransport {
    private let httpClient: HTTPClient

    public init(httpClient: HTTPClient) {
        self.httpClient = httpClient
    }

    /// A client that never follows redirects, for callers without one (`arcanos selftest`). Shut it down.
    public static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5))
        )
        // A server that is down is reported at once instead of after retrying until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func post(_ request: SelfTestHTTPRequest) async throws -> SelfTestHTTPResponse {
        var httpRequest = HTTPClientRequest(url: request.url)
        httpRequest.method = .POST
        httpRequest.headers.add(name: "content-type", value: "application/json")
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            httpRequest.headers.add(name: name, value: value)
        }
        httpRequest.body = .bytes(ByteBuffer(data: request.body))
        do {
            let response = try await self.httpClient.execute(
                httpRequest,
                deadline: .now() + .nanoseconds(max(request.timeout.nanoseconds, 1))
            )
            if let length = response.headers.first(name: "content-length").flatMap(Int.init),
                length > request.maximumResponseBytes
            {
                throw SelfTestTransportError.responseTooLarge(limit: request.maximumResponseBytes)
            }
            let body = try await response.body.collect(upTo: request.maximumResponseBytes)
            var headers: [String: String] = [:]
            for header in response.headers {
                headers[header.name.lowercased()] = header.value
            }
            return SelfTestHTTPResponse(
                statusCode: Int(response.status.code),
                headers: headers,
                body: Data(buffer: body)
            )
        } catch {
            throw Self.classify(error, request: request)
        }
    }

    static func classify(_ error: any Error, request: SelfTestHTTPRequest) -> any Error {
        if let error = error as? SelfTestTransportError { return error }
        if error is CancellationError || Task.isCancelled { return CancellationError() }
        if error is NIOTooManyBytesError {
            return SelfTestTransportError.responseTooLarge(limit: request.maximumResponseBytes)
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .cancelled: return CancellationError()
            case .deadlineExceeded, .readTimeout, .writeTimeout: return SelfTestTransportError.timeout(request.timeout)
            case .invalidURL, .emptyHost, .emptyScheme: return SelfTestTransportError.invalidURL
            default: return SelfTestTransportError.connection
            }
        }
        return SelfTestTransportError.connection
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection to a loopback port, for what no HTTP client sends: broken framing, a body shorter
/// than its `Content-Length` followed by a half-close, or silence. Blocking calls, run off the cooperative
/// pool; every read is bounded by `receiveTimeout`, so a test never hangs on a server that does not answer.
final class RawConnection: @unchecked Sendable {
    private let socket: Int32

    init(port: Int, receiveTimeout: Duration = .seconds(30)) throws {
        #if canImport(Glibc)
            let descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw RawConnectionError.failed("socket") }
        var timeout = timeval(
            tv_sec: .init(receiveTimeout.components.seconds),
            tv_usec: .init(receiveTimeout.components.attoseconds / 1_000_000_000_000)
        )
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw RawConnectionError.failed("connect")
        }
        self.socket = descriptor
    }

    deinit { close(self.socket) }

    func send(_ text: String) throws {
        try self.send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                write(self.socket, $0.baseAddress, $0.count)
            }
            guard written > 0 else { throw RawConnectionError.failed("write") }
            offset += written
        }
    }

    /// Closes the sending side: the server sees the end of the request stream.
    func shutdownWrite() {
        shutdown(self.socket, Int32(SHUT_WR))
    }

    /// Everything the server sends until it closes the connection, or until a read times out. The blocking
    /// reads run on a Dispatch thread: on the cooperative pool they would starve the server under test.
    func readUntilClosed() async -> (bytes: [UInt8], closed: Bool) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [socket = self.socket] in
                var collected: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(socket, $0.baseAddress, $0.count) }
                    if count > 0 {
                        collected += buffer[0..<count]
                    } else {
                        // 0: the server closed; -1: the read timed out (or failed), the connection still open.
                        continuation.resume(returning: (collected, count == 0))
                        return
                    }
                }
            }
        }
    }

    /// The first response the server sends (or nil), read until the server closes or goes quiet.
    func response() async -> RawResponse? {
        RawResponse(await self.readUntilClosed().bytes)
    }
}

enum RawConnectionError: Error {
    case failed(String)
}

/// The first HTTP/1.1 response in `bytes`: status, headers (lower-cased names) and body (by Content-Length).
struct RawResponse {
    var status: Int
    var headers: [String: String]
    var body: String

    init?(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        let statusLine = lines[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        self.status = status
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        self.headers = headers
        let rest = text[headEnd.upperBound...]
        let length = headers["content-length"].flatMap(Int.init) ?? rest.utf8.count
        self.body = String(decoding: Array(rest.utf8.prefix(length)), as: UTF8.self)
    }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8))) as? [String: Any] ?? [:]
    }
}

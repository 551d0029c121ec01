import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 child channel with a header-read deadline in front of its decoder. Hummingbird's idle
/// timeout watches whole request parts, so it bounds a silent connection; this bounds one that sends bytes
/// but never finishes a request head — the slow-header attack — more tightly than the idle timeout does.
struct HeaderDeadlineHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    /// `ARCANOS_HTTP_HEADER_TIMEOUT_MS`.
    let headerTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = self.headerTimeout
        return channel.eventLoop.makeCompletedFuture {
            // Added first, so it sees the raw bytes before the HTTP decoder does.
            try channel.pipeline.syncOperations.addHandler(FirstHeadDeadlineHandler(timeout: timeout))
        }.flatMap {
            self.http1.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await self.http1.handle(value: value, logger: logger)
    }
}

/// Closes the connection when its first request head (up to the blank line) has not arrived `timeout` after
/// the connection opened. Later requests on a kept-alive connection are bounded by the idle timeout.
final class FirstHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// The last bytes seen, so that a blank line split across reads is still found.
    private var recent: [UInt8] = []
    private var headComplete = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.startDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.startDeadline(context: context)
        context.fireChannelActive()
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard self.deadline == nil, !self.headComplete else { return }
        self.deadline = context.eventLoop.assumeIsolated().scheduleTask(in: self.timeout) {
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !self.headComplete {
            let buffer = self.unwrapInboundIn(data)
            self.recent += buffer.readableBytesView
            if Self.containsBlankLine(self.recent) {
                self.headComplete = true
                self.deadline?.cancel()
                self.deadline = nil
                self.recent = []
            } else {
                self.recent = Array(self.recent.suffix(3))
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
    }

    /// A line feed followed by an empty line (`\n\r\n`, or a bare `\n\n`): the end of a request head.
    static func containsBlankLine(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        for index in 0..<(bytes.count - 1) where bytes[index] == 10 {
            if bytes[index + 1] == 10 { return true }
            if bytes[index + 1] == 13, index + 2 < bytes.count, bytes[index + 2] == 10 { return true }
        }
        return false
    }
}

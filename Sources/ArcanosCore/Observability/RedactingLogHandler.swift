import Logging

/// Wraps any log handler so that every line it writes went through the `Redactor`: the message and all
/// metadata (the handler's, the metadata provider's and the event's), merged here and handed on as the
/// event's metadata. `ArcanosServer.bootstrapLogging` wraps both the text and the JSON handler in it.
public struct RedactingLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private var inner: any LogHandler
    private let redactor: Redactor

    public init(_ inner: any LogHandler, redactor: Redactor = .standard) {
        var inner = inner
        // The wrapper owns metadata: the inner handler must not add unredacted values of its own.
        self.metadata = inner.metadata
        self.metadataProvider = inner.metadataProvider
        inner.metadata = [:]
        inner.metadataProvider = nil
        self.inner = inner
        self.redactor = redactor
    }

    public var logLevel: Logger.Level {
        get { self.inner.logLevel }
        set { self.inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var event = event
        event.message = "\(self.redactor.redact(event.message.description))"
        event.metadata = self.redactor.redact(merged)
        self.inner.log(event: event)
    }
}

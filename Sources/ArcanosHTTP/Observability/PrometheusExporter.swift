import ArcanosCore
import Metrics
import Prometheus
import Synchronization

/// The Prometheus registry behind `GET /metrics`: hands `metrics` to the components and renders the text
/// format, with `# HELP` from `ArcanosMetrics.catalog` (swift-metrics handles carry no help text).
///
/// One per server (or per test): nothing here touches the global `MetricsSystem`.
public struct PrometheusExporter: Sendable {
    /// Reads state owned by other components when `/metrics` is scraped (queue depth, worker counters, …).
    public typealias Sampler = @Sendable () async -> ArcanosMetrics.Sample

    public let registry: PrometheusCollectorRegistry
    public let metrics: ArcanosMetrics
    private let samplers: Samplers

    /// - Parameters:
    ///   - modelNames: how model ids appear in labels (credentials as aliases).
    ///   - history: the samples behind `GET /metrics/history`; nil leaves that route out.
    public init(modelNames: PublicModelNames = .init(), history: MetricsHistoryRecorder? = nil) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request latency buckets from 1 ms: most routes answer well under the library's 5 ms floor.
        factory.durationHistogramBuckets[ArcanosMetrics.Name.httpRequestDuration] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        self.registry = registry
        self.metrics = ArcanosMetrics(factory: factory, modelNames: modelNames, history: history)
        self.samplers = Samplers()
    }

    /// The swift-metrics factory over this registry, for bootstrapping the global system in the executable.
    public var factory: any MetricsFactory { self.metrics.factory }

    /// Adds a sampler run before every scrape. Samplers run in the order added.
    public func addSampler(_ sampler: @escaping Sampler) {
        self.samplers.list.withLock { $0.append(sampler) }
    }

    /// Runs the samplers, then renders every family in the Prometheus text format (version 0.0.4).
    public func exposition() async -> String {
        for sampler in self.samplers.list.withLock({ $0 }) {
            self.metrics.apply(await sampler())
        }
        return Self.addingHelp(to: self.registry.emitToString())
    }

    static let help: [String: String] = Dictionary(
        uniqueKeysWithValues: ArcanosMetrics.catalog.map { ($0.name, $0.help) }
    )

    /// Inserts `# HELP name …` before each `# TYPE name …` whose family is in the catalog.
    static func addingHelp(to text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count + 4096)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let help = Self.help[String(name)] {
                    output += "# HELP \(name) \(help)\n"
                }
            }
            output += line
            output += "\n"
        }
        return output
    }

    private final class Samplers: Sendable {
        let list = Mutex<[Sampler]>([])
    }
}

import Foundation

/// A strict parser of the Prometheus text exposition format 0.0.4, written for tests: any deviation is an
/// error naming the line. Beyond the grammar it checks what a scraper relies on: `# HELP`/`# TYPE` come
/// before a family's samples and at most once, a family's lines are contiguous, no series repeats,
/// counters are non-negative, and every histogram has cumulative buckets ending in `+Inf` equal to `_count`,
/// plus `_sum`.
struct PrometheusTextParser {
    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var reason: String
        var description: String { "line \(self.line): \(self.reason)" }
    }

    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var name: String
        var type: String
        var help: String?
        var samples: [Sample] = []
    }

    private(set) var families: [String: Family] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else {
            throw ParseError(line: 0, reason: "the exposition must end with a line feed")
        }
        var typed: [String: String] = [:]
        var helped: Set<String> = []
        var closedFamilies: Set<String> = []
        var currentFamily: String?
        var seenSeries: Set<String> = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()

        func enter(_ family: String, line: Int) throws {
            guard family != currentFamily else { return }
            if closedFamilies.contains(family) {
                throw ParseError(line: line, reason: "lines of family \(family) are not contiguous")
            }
            if let currentFamily { closedFamilies.insert(currentFamily) }
            currentFamily = family
        }

        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            let line = String(rawLine)
            guard !line.isEmpty else { throw ParseError(line: number, reason: "empty line") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE" else {
                    continue  // a plain comment
                }
                let name = parts[2]
                guard Self.isMetricName(name) else { throw ParseError(line: number, reason: "bad metric name \(name)") }
                try enter(name, line: number)
                if parts[1] == "HELP" {
                    guard helped.insert(name).inserted else {
                        throw ParseError(line: number, reason: "second HELP for \(name)")
                    }
                    guard self.families[name]?.samples.isEmpty ?? true else {
                        throw ParseError(line: number, reason: "HELP for \(name) after its samples")
                    }
                    let help = parts.count == 4 ? parts[3] : ""
                    guard Self.isValidHelp(help) else { throw ParseError(line: number, reason: "bad escape in HELP") }
                    self.families[name, default: Family(name: name, type: "untyped")].help = help
                } else {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw ParseError(line: number, reason: "bad TYPE line") }
                    guard typed[name] == nil else { throw ParseError(line: number, reason: "second TYPE for \(name)") }
                    guard self.families[name]?.samples.isEmpty ?? true else {
                        throw ParseError(line: number, reason: "TYPE for \(name) after its samples")
                    }
                    typed[name] = parts[3]
                    self.families[name, default: Family(name: name, type: parts[3])].type = parts[3]
                }
                continue
            }
            let sample = try Self.parseSample(line, number: number)
            let family = Self.family(of: sample.name, typed: typed)
            guard typed[family] != nil else {
                throw ParseError(line: number, reason: "sample \(sample.name) before any TYPE of its family")
            }
            try enter(family, line: number)
            let type = typed[family]!
            if type == "histogram" {
                guard sample.name != family else {
                    throw ParseError(line: number, reason: "histogram \(family) sample without _bucket/_sum/_count")
                }
                if sample.name == family + "_bucket" {
                    guard let le = sample.labels["le"], Self.parseValue(le) != nil else {
                        throw ParseError(line: number, reason: "bucket without a valid le label")
                    }
                }
            } else if sample.name != family {
                throw ParseError(line: number, reason: "sample \(sample.name) does not belong to \(type) \(family)")
            }
            if type == "counter", !(sample.value >= 0) {
                throw ParseError(line: number, reason: "counter \(sample.name) is negative or NaN")
            }
            let key =
                sample.name + "{"
                + sample.labels.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ",")
            guard seenSeries.insert(key).inserted else {
                throw ParseError(line: number, reason: "duplicate series \(key)")
            }
            self.families[family]!.samples.append(sample)
            self.samples.append(sample)
        }
        for family in self.families.values where family.type == "histogram" {
            try Self.checkHistogram(family)
        }
    }

    /// The value of the one series with exactly these labels, or nil.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        self.samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The base family name of a sample: histograms own `_bucket`, `_sum` and `_count` series.
    private static func family(of name: String, typed: [String: String]) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if typed[base] == "histogram" || typed[base] == "summary" { return base }
        }
        return name
    }

    private static func checkHistogram(_ family: Family) throws {
        var groups: [[String: String]: (buckets: [(Double, Double)], sum: Double?, count: Double?)] = [:]
        for sample in family.samples {
            var labels = sample.labels
            let le = labels.removeValue(forKey: "le")
            var group = groups[labels] ?? ([], nil, nil)
            switch sample.name {
            case family.name + "_bucket": group.buckets.append((Self.parseValue(le!)!, sample.value))
            case family.name + "_sum": group.sum = sample.value
            default: group.count = sample.value
            }
            groups[labels] = group
        }
        for (labels, group) in groups {
            let where_ = "\(family.name)\(labels)"
            guard let count = group.count, group.sum != nil else {
                throw ParseError(line: 0, reason: "\(where_) lacks _sum or _count")
            }
            guard let last = group.buckets.last, last.0 == .infinity else {
                throw ParseError(line: 0, reason: "\(where_) lacks a final +Inf bucket")
            }
            guard last.1 == count else {
                throw ParseError(line: 0, reason: "\(where_) +Inf bucket \(last.1) != _count \(count)")
            }
            for (previous, next) in zip(group.buckets, group.buckets.dropFirst()) {
                guard previous.0 < next.0 else { throw ParseError(line: 0, reason: "\(where_) le not increasing") }
                guard previous.1 <= next.1 else {
                    throw ParseError(line: 0, reason: "\(where_) buckets not cumulative")
                }
            }
        }
    }

    private static func parseSample(_ line: String, number: Int) throws -> Sample {
        var rest = Substring(line)
        let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
        guard Self.isMetricName(String(name)) else { throw ParseError(line: number, reason: "bad metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let labelName = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                guard Self.isLabelName(String(labelName)) else {
                    throw ParseError(line: number, reason: "bad label name in \(line)")
                }
                rest = rest.dropFirst(labelName.count)
                guard rest.hasPrefix("=\"") else { throw ParseError(line: number, reason: "expected =\" after label") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let character = rest.first else {
                        throw ParseError(line: number, reason: "unterminated label")
                    }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        switch rest.first {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw ParseError(line: number, reason: "bad escape in label value")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                guard labels.updateValue(value, forKey: String(labelName)) == nil else {
                    throw ParseError(line: number, reason: "label \(labelName) repeated")
                }
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw ParseError(line: number, reason: "expected , or } in labels")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw ParseError(line: number, reason: "expected a space before the value") }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard (1...2).contains(fields.count), let value = Self.parseValue(String(fields[0])) else {
            throw ParseError(line: number, reason: "bad value in \(line)")
        }
        if fields.count == 2, Int64(fields[1]) == nil {
            throw ParseError(line: number, reason: "bad timestamp")
        }
        return Sample(name: String(name), labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard let first = text.first, first.isNumber || first == "-" || first == "+" || first == "." else {
                return nil
            }
            return Double(text)
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" || first == ":" else {
            return false
        }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    private static func isValidHelp(_ help: String) -> Bool {
        var escaping = false
        for character in help {
            if escaping {
                guard character == "\\" || character == "n" else { return false }
                escaping = false
            } else if character == "\\" {
                escaping = true
            }
        }
        return !escaping
    }
}

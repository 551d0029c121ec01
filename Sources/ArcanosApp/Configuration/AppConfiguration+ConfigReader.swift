import ArcanosCore
import ArcanosPostgres
import Configuration
import Foundation

extension AppConfiguration {
    /// Reads every setting from `reader` (environment variables in production). Unset values keep their
    /// defaults; a value that does not parse stops start-up with an error naming the variable.
    public init(reader: ConfigReader) throws {
        self.init()
        let values = ValueReader(reader: reader)

        self.server.host = values.string("HOST") ?? self.server.host
        self.server.port = try values.int("PORT", in: 0...65535) ?? self.server.port
        self.server.dataDirectory = values.string("ARCANOS_DATA_DIR") ?? self.server.dataDirectory
        self.server.maximumBodyBytes =
            try values.int("ARCANOS_MAX_BODY_BYTES", in: 1024...(64 << 20)) ?? self.server.maximumBodyBytes
        self.server.logFormat = try values.choice("ARCANOS_LOG_FORMAT", LogFormat.self) ?? self.server.logFormat
        self.server.logLevel =
            try values.oneOf("ARCANOS_LOG_LEVEL", ["trace", "debug", "info", "notice", "warning", "error", "critical"])
            ?? self.server.logLevel
        self.server.environment = values.string("ARCANOS_ENV") ?? self.server.environment
        self.server.idleTimeout =
            try values.milliseconds("ARCANOS_HTTP_IDLE_TIMEOUT_MS", in: 100...3_600_000) ?? self.server.idleTimeout
        self.server.headerTimeout =
            try values.milliseconds("ARCANOS_HTTP_HEADER_TIMEOUT_MS", in: 100...600_000) ?? self.server.headerTimeout
        // A secret: the URL may carry the password. Errors name the variable and never repeat the value.
        if let url = values.string("DATABASE_URL", isSecret: true) {
            do {
                self.database.url = try PostgresURL(url)
            } catch let error as ArcanosError {
                throw ArcanosError(.configurationInvalid, "DATABASE_URL \(error.message)")
            }
        }
        self.database.poolSize = try values.int("ARCANOS_DATABASE_POOL_SIZE", in: 1...1000) ?? self.database.poolSize
        self.database.replicaTimeout =
            try values.milliseconds("ARCANOS_REPLICA_TIMEOUT_MS", in: 1000...600_000) ?? self.database.replicaTimeout

        self.auth.apiKeys = values.list("ARCANOS_API_KEYS", isSecret: true) ?? []
        self.auth.allowUnauthenticated = try values.bool("ARCANOS_ALLOW_UNAUTHENTICATED") ?? false

        self.model.apiKey = values.string("OPENAI_API_KEY", isSecret: true)
        self.model.baseURL = try values.url("OPENAI_BASE_URL") ?? self.model.baseURL
        self.model.timeout = try values.milliseconds("OPENAI_TIMEOUT_MS", in: 100...600_000) ?? self.model.timeout
        self.model.firstTokenTimeout =
            try values.milliseconds("OPENAI_FIRST_TOKEN_TIMEOUT_MS", in: 100...600_000) ?? self.model.firstTokenTimeout
        self.model.fineTunedModelID = values.string("FINETUNED_MODEL_ID")
        self.model.model =
            values.string("AI_MODEL") ?? values.string("OPENAI_MODEL") ?? self.model.fineTunedModelID
            ?? self.model.model
        self.model.fallbackModel = values.string("FALLBACK_MODEL")
        self.model.breakerThreshold =
            try values.int("OPENAI_BREAKER_THRESHOLD", in: 1...5) ?? self.model.breakerThreshold
        // OPENAI_BREAKER_COOLDOWN_MS, the fixed open time of earlier versions, still sets the first one.
        self.model.breakerOpen =
            try values.milliseconds("OPENAI_BREAKER_OPEN_MS", in: 100...3_600_000)
            ?? values.milliseconds("OPENAI_BREAKER_COOLDOWN_MS", in: 100...3_600_000) ?? self.model.breakerOpen
        self.model.breakerMaxOpen = max(self.model.breakerMaxOpen, self.model.breakerOpen)
        if let maxOpen = try values.milliseconds("OPENAI_BREAKER_MAX_OPEN_MS", in: 100...3_600_000) {
            guard maxOpen >= self.model.breakerOpen else {
                throw ArcanosError.configuration(
                    variable: "OPENAI_BREAKER_MAX_OPEN_MS",
                    accepts: "at least the first open time (\(self.model.breakerOpen.milliseconds) ms)",
                    got: String(maxOpen.milliseconds)
                )
            }
            self.model.breakerMaxOpen = maxOpen
        }
        self.model.maxInFlight = try values.int("OPENAI_MAX_IN_FLIGHT", in: 1...65_536) ?? self.model.maxInFlight
        self.model.maxConnections = self.model.maxInFlight
        if let connections = try values.int("OPENAI_MAX_CONNECTIONS", in: 1...65_536) {
            // Fewer connections than admitted calls would make admitted calls wait for a connection again.
            guard connections >= self.model.maxInFlight else {
                throw ArcanosError.configuration(
                    variable: "OPENAI_MAX_CONNECTIONS",
                    accepts: "at least OPENAI_MAX_IN_FLIGHT (\(self.model.maxInFlight))",
                    got: String(connections)
                )
            }
            self.model.maxConnections = connections
        }
        self.model.maxAttempts = try values.int("OPENAI_MAX_ATTEMPTS", in: 1...10) ?? self.model.maxAttempts

        self.fallback.preemptive = try values.bool("FALLBACK_PREEMPTIVE") ?? false
        self.fallback.strictEnvironments =
            values.list("FALLBACK_STRICT_ENVIRONMENTS") ?? self.fallback.strictEnvironments
        self.fallback.cacheCapacity =
            try values.int("FALLBACK_CACHE_MAX_ENTRIES", in: 0...1_000_000) ?? self.fallback.cacheCapacity
        self.fallback.cacheTimeToLive =
            try values.milliseconds("FALLBACK_CACHE_TTL_MS", in: 0...86_400_000) ?? self.fallback.cacheTimeToLive

        self.heal.rateLimitMax = try values.int("ARCANOS_HEAL_RATE_LIMIT_MAX", in: 1...10_000) ?? self.heal.rateLimitMax
        self.heal.rateLimitWindow =
            try values.milliseconds("ARCANOS_HEAL_RATE_LIMIT_WINDOW_MS", in: 1000...86_400_000)
            ?? self.heal.rateLimitWindow
        self.heal.aiPlanner = try values.bool("ARCANOS_HEAL_AI") ?? self.heal.aiPlanner
        self.heal.aiTimeout =
            try values.milliseconds("ARCANOS_HEAL_AI_TIMEOUT_MS", in: 100...120_000) ?? self.heal.aiTimeout
        self.heal.queueAgeWarning =
            try values.milliseconds("ARCANOS_HEAL_QUEUE_AGE_WARNING_MS", in: 1000...86_400_000)
            ?? self.heal.queueAgeWarning
        self.heal.verificationTimeout =
            try values.milliseconds("ARCANOS_HEAL_VERIFY_TIMEOUT_MS", in: 0...60_000) ?? self.heal.verificationTimeout

        self.workers.directory = values.string("ARCANOS_WORKERS_DIR") ?? self.workers.directory
        var pool = self.workers.pool
        pool.enabled = try values.bool("RUN_WORKERS") ?? pool.enabled
        pool.workerCount = try values.int("WORKER_COUNT", in: 1...64) ?? pool.workerCount
        pool.model = values.string("WORKER_MODEL") ?? self.model.model
        pool.taskTimeout = try values.milliseconds("WORKER_TASK_TIMEOUT_MS", in: 100...3_600_000) ?? pool.taskTimeout
        pool.runTimeout = try values.milliseconds("WORKER_RUN_TIMEOUT_MS", in: 100...600_000) ?? pool.runTimeout
        pool.heartbeatInterval =
            try values.milliseconds("WORKER_HEARTBEAT_INTERVAL_MS", in: 50...60_000) ?? pool.heartbeatInterval
        pool.heartbeatTimeout =
            try values.milliseconds("WORKER_HEARTBEAT_TIMEOUT_MS", in: 100...600_000) ?? pool.heartbeatTimeout
        pool.leaseDuration = try values.milliseconds("JOB_LEASE_MS", in: 1000...3_600_000) ?? pool.leaseDuration
        pool.maxAttempts = try values.int("JOB_MAX_ATTEMPTS", in: 1...20) ?? pool.maxAttempts
        pool.pollInterval = try values.milliseconds("JOB_POLL_INTERVAL_MS", in: 10...60_000) ?? pool.pollInterval
        pool.retry.initialDelay =
            try values.milliseconds("JOB_RETRY_BACKOFF_MS", in: 0...600_000) ?? pool.retry.initialDelay
        pool.modelWait.maximumWait =
            try values.milliseconds("JOB_MODEL_WAIT_MS", in: 0...604_800_000) ?? pool.modelWait.maximumWait
        pool.restart.restartThreshold =
            try values.int("SAFETY_WORKER_RESTART_THRESHOLD", in: 1...10_000) ?? pool.restart.restartThreshold
        pool.restart.restartWindow =
            try values.milliseconds("SAFETY_WORKER_RESTART_WINDOW_MS", in: 1000...86_400_000)
            ?? pool.restart.restartWindow
        pool.restart.quietPeriod =
            try values.milliseconds("SAFETY_WORKER_QUIET_PERIOD_MS", in: 100...86_400_000) ?? pool.restart.quietPeriod
        // A lease must outlive several heartbeats, and a worker must be able to beat before it counts as hung.
        guard pool.heartbeatTimeout > pool.heartbeatInterval else {
            throw ArcanosError.configuration(
                variable: "WORKER_HEARTBEAT_TIMEOUT_MS",
                accepts: "greater than WORKER_HEARTBEAT_INTERVAL_MS (\(pool.heartbeatInterval.milliseconds))",
                got: "\(pool.heartbeatTimeout.milliseconds)"
            )
        }
        guard pool.leaseDuration >= pool.heartbeatInterval * 2 else {
            throw ArcanosError.configuration(
                variable: "JOB_LEASE_MS",
                accepts: "at least twice WORKER_HEARTBEAT_INTERVAL_MS (\(pool.heartbeatInterval.milliseconds * 2))",
                got: "\(pool.leaseDuration.milliseconds)"
            )
        }
        self.workers.pool = pool
        // 0 keeps finished jobs for ever; at most ten years.
        if let retention = try values.milliseconds("JOB_RETENTION_MS", in: 0...315_360_000_000) {
            self.workers.jobRetention = retention == .zero ? nil : retention
        }

        // Trusted ids are read as secrets: they must not show up in logs or responses.
        self.confirmation.trustedGPTIDs = values.list("TRUSTED_GPT_IDS", isSecret: true) ?? []
        self.confirmation.allowAllGPTs = try values.bool("ALLOW_ALL_GPTS") ?? false
        self.confirmation.automationSecret = values.string("ARCANOS_AUTOMATION_SECRET", isSecret: true)
        if let header = values.string("ARCANOS_AUTOMATION_HEADER") {
            guard ConfirmationRequest.Header.isValidAutomationHeader(header) else {
                throw ArcanosError.configuration(
                    variable: "ARCANOS_AUTOMATION_HEADER",
                    accepts: "an HTTP header name other than x-confirmed, x-gpt-id, x-arcanos-confirm-token, "
                        + "authorization and cookie",
                    got: header
                )
            }
            self.confirmation.automationHeader = header.lowercased()
        }
        self.confirmation.challengeTimeToLive =
            try values.milliseconds("CONFIRMATION_CHALLENGE_TTL_MS", in: 1000...86_400_000)
            ?? self.confirmation.challengeTimeToLive
        self.confirmation.tokenTimeToLive =
            try values.milliseconds("ARCANOS_CONFIRM_TOKEN_TTL_MS", in: 1000...86_400_000)
            ?? self.confirmation.tokenTimeToLive
        self.confirmation.challengeCapacity =
            try values.int("ARCANOS_CONFIRM_CHALLENGE_MAX", in: 1...1_000_000) ?? self.confirmation.challengeCapacity
        self.confirmation.tokenRateLimitMax =
            try values.int("ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_MAX", in: 1...10_000)
            ?? self.confirmation.tokenRateLimitMax
        self.confirmation.tokenRateLimitWindow =
            try values.milliseconds("ARCANOS_CONFIRM_TOKEN_RATE_LIMIT_WINDOW_MS", in: 1000...86_400_000)
            ?? self.confirmation.tokenRateLimitWindow
        self.confirmation.fineTunedAutomationGPTID = values.string("FINE_TUNED_AUTOMATION_GPT_ID", isSecret: true)
        self.confirmation.configuredModelIDs = ["AI_MODEL", "OPENAI_MODEL", "FINETUNED_MODEL_ID"].compactMap {
            values.string($0)
        }

        self.observability.metricsEnabled = try values.bool("ARCANOS_METRICS_ENABLED") ?? true
        self.observability.metricsRequireKey = try values.bool("ARCANOS_METRICS_REQUIRE_KEY") ?? false
        self.observability.publicURL = try values.url("ARCANOS_PUBLIC_URL")
        self.observability.historyInterval =
            try values.milliseconds("ARCANOS_HISTORY_INTERVAL_MS", in: 1000...60_000)
            ?? self.observability.historyInterval

        if let interval = try values.int("SELF_TEST_INTERVAL_MS", in: 0...86_400_000) {
            guard interval == 0 || interval >= 1000 else {
                throw ArcanosError.configuration(
                    variable: "SELF_TEST_INTERVAL_MS",
                    accepts: "0 (off) or an integer from 1000 to 86400000",
                    got: String(interval)
                )
            }
            self.selfTest.interval = interval == 0 ? nil : .milliseconds(interval)
        }
        self.selfTest.baseURL = try values.url("SELF_TEST_BASE_URL")
        if let text = values.string("SELF_TEST_PROMPTS") {
            do {
                self.selfTest.prompts = try SelfTestPrompt.parseList(text)
            } catch {
                throw ArcanosError(.configurationInvalid, "SELF_TEST_PROMPTS \(error.reason)")
            }
        }
        self.selfTest.promptTimeout =
            try values.milliseconds("SELF_TEST_TIMEOUT_MS", in: 100...600_000) ?? self.selfTest.promptTimeout
        self.watchdog.mode = try values.choice("ARCANOS_AUTO_HEAL", WatchdogMode.self) ?? self.watchdog.mode
        self.watchdog.interval =
            try values.milliseconds("ARCANOS_AUTO_HEAL_INTERVAL_MS", in: 1000...86_400_000) ?? self.watchdog.interval
    }
}

/// Reads raw strings through swift-configuration and parses them here, so that a bad value is an error
/// naming the variable instead of a silent default.
private struct ValueReader {
    let reader: ConfigReader

    /// Variable names map to keys by lowercasing and splitting on `_` (`OPENAI_API_KEY` → `openai.api.key`),
    /// which the environment provider maps back.
    private func raw(_ variable: String, isSecret: Bool) -> String? {
        let key = ConfigKey(variable.lowercased().split(separator: "_").map(String.init))
        let value = self.reader.string(forKey: key, isSecret: isSecret)?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    func string(_ variable: String, isSecret: Bool = false) -> String? {
        self.raw(variable, isSecret: isSecret)
    }

    func list(_ variable: String, isSecret: Bool = false) -> [String]? {
        self.raw(variable, isSecret: isSecret).map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    func int(_ variable: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = self.raw(variable, isSecret: false) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ArcanosError.configuration(
                variable: variable,
                accepts: "an integer from \(range.lowerBound) to \(range.upperBound)",
                got: text
            )
        }
        return value
    }

    func milliseconds(_ variable: String, in range: ClosedRange<Int>) throws -> Duration? {
        try self.int(variable, in: range).map { .milliseconds($0) }
    }

    func bool(_ variable: String) throws -> Bool? {
        guard let text = self.raw(variable, isSecret: false) else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ArcanosError.configuration(variable: variable, accepts: "true or false", got: text)
        }
    }

    func oneOf(_ variable: String, _ accepted: [String]) throws -> String? {
        guard let text = self.raw(variable, isSecret: false) else { return nil }
        guard accepted.contains(text.lowercased()) else {
            throw ArcanosError.configuration(
                variable: variable,
                accepts: "one of \(accepted.joined(separator: ", "))",
                got: text
            )
        }
        return text.lowercased()
    }

    func choice<Choice: RawRepresentable & CaseIterable>(_ variable: String, _ type: Choice.Type) throws -> Choice?
    where Choice.RawValue == String {
        try self.oneOf(variable, Choice.allCases.map(\.rawValue)).flatMap(Choice.init(rawValue:))
    }

    func url(_ variable: String) throws -> String? {
        guard let text = self.raw(variable, isSecret: false) else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
            throw ArcanosError.configuration(variable: variable, accepts: "an http:// or https:// URL", got: text)
        }
        return text
    }
}

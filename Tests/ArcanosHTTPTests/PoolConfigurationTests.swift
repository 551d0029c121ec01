import ArcanosApp
import ArcanosCore
import ArcanosHTTP
import Testing

/// Issue 16's two settings: how long a job waits for the model, and an unsafe pool's quiet period.
@Suite struct PoolConfigurationTests {
    @Test func theModelWaitAndTheQuietPeriodHaveDocumentedDefaults() throws {
        let pool = try configuration(environment: [:]).workers.pool
        #expect(pool.modelWait.maximumWait == .seconds(3600))
        #expect(pool.restart.quietPeriod == .seconds(60) && pool.restart.maximumQuietPeriod == .seconds(1800))
    }

    @Test func theModelWaitAndTheQuietPeriodAreRead() throws {
        let pool = try configuration(environment: [
            "JOB_MODEL_WAIT_MS": "0", "SAFETY_WORKER_QUIET_PERIOD_MS": "2500",
        ]).workers.pool
        #expect(pool.modelWait.maximumWait == .zero)
        #expect(pool.restart.quietPeriod == .milliseconds(2500))
    }

    @Test(arguments: [
        ("JOB_MODEL_WAIT_MS", "-1"), ("JOB_MODEL_WAIT_MS", "an hour"), ("JOB_MODEL_WAIT_MS", "604800001"),
        ("SAFETY_WORKER_QUIET_PERIOD_MS", "99"), ("SAFETY_WORKER_QUIET_PERIOD_MS", "soon"),
    ])
    func anInvalidValueStopsStartUpNamingTheVariable(variable: String, value: String) {
        let error = #expect(throws: ArcanosError.self) { try configuration(environment: [variable: value]) }
        #expect(error?.code == .configurationInvalid)
        #expect(error?.message.contains(variable) == true)
    }
}

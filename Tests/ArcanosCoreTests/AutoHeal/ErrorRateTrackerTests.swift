import ArcanosCore
import Foundation
import Testing

@Suite struct ErrorRateTrackerTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// `attempts` outcomes, `failures` of them failed, spread over the 100 s starting at `start` seconds.
    func record(
        _ tracker: inout ErrorRateTracker,
        attempts: Int,
        failures: Int,
        from start: Double
    ) {
        for index in 0..<attempts {
            tracker.record(
                failed: index < failures,
                at: self.t0.addingTimeInterval(start + Double(index) * 100 / Double(attempts))
            )
        }
    }

    @Test func tooFewAttemptsAreNotAMeasurement() {
        var tracker = ErrorRateTracker()
        self.record(&tracker, attempts: 9, failures: 9, from: 0)
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(100)) == nil)
    }

    @Test func failuresAppearingAfterAHealthyWindowAreRising() {
        var tracker = ErrorRateTracker()
        self.record(&tracker, attempts: 50, failures: 0, from: 0)
        self.record(&tracker, attempts: 20, failures: 8, from: 310)
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(420)) == true)
    }

    @Test func aSteadyErrorRateIsNotRising() {
        var tracker = ErrorRateTracker()
        self.record(&tracker, attempts: 40, failures: 12, from: 0)
        self.record(&tracker, attempts: 40, failures: 12, from: 310)
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(420)) == false)
    }

    @Test func aFewFailuresUnderTheShareAreNotRising() {
        var tracker = ErrorRateTracker()
        self.record(&tracker, attempts: 50, failures: 5, from: 0)
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(100)) == false)
    }

    @Test func oldFailuresAgeOut() {
        var tracker = ErrorRateTracker()
        self.record(&tracker, attempts: 20, failures: 20, from: 0)
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(100)) == true)
        // Two windows later nothing is left to measure.
        #expect(tracker.isRising(at: self.t0.addingTimeInterval(700)) == nil)
    }

    @Test func theMonitorCountsFinishedAttemptsOnly() {
        let monitor = ErrorRateMonitor()
        for index in 0..<10 {
            let outcome: WorkerPoolEvent.JobOutcome = index < 4 ? .retrying : (index < 6 ? .failed : .succeeded)
            monitor.record(.jobFinished(workerID: "w", jobID: "j\(index)", outcome: outcome), at: self.t0)
            // Neither a release nor a fenced write is the task's failure, nor are other events.
            monitor.record(.jobFinished(workerID: "w", jobID: "r\(index)", outcome: .released), at: self.t0)
            monitor.record(.jobFinished(workerID: "w", jobID: "f\(index)", outcome: .fenced), at: self.t0)
            monitor.record(.workerCrashed(workerID: "w"), at: self.t0)
        }
        // 6 of 10 failed: rising; had the others counted, 6 of 30 would not reach the minimum share.
        #expect(monitor.isRising(at: self.t0) == true)
    }
}

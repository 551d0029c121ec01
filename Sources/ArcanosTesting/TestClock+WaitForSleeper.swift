import Clocks

extension TestClock where Duration == Swift.Duration {
    /// Returns once some task sleeps on this clock. `sleep(for:)` fixes its deadline when called, so an
    /// `advance` made before the code under test reaches its sleep would be lost and the test would hang.
    /// Returns early when the calling task is cancelled (a test's time limit), so a wait for a sleeper that
    /// never comes cannot spin forever.
    public func waitForSleeper() async {
        while !Task.isCancelled, (try? await self.checkSuspension()) != nil { await Task.yield() }
    }
}

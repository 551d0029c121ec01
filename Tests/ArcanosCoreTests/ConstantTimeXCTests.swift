import ArcanosCore
import XCTest

/// XCTest, so that the test runner prints its summary line.
final class ConstantTimeXCTests: XCTestCase {
    func testEqualStringsMatch() {
        XCTAssertTrue(ConstantTime.equals("s3cret-value", "s3cret-value"))
    }

    func testPrefixesLongerStringsAndSameLengthStringsDoNotMatch() {
        XCTAssertFalse(ConstantTime.equals("s3cret", "s3cret-value"))
        XCTAssertFalse(ConstantTime.equals("s3cret-value!", "s3cret-value"))
        XCTAssertFalse(ConstantTime.equals("s3cret-valuf", "s3cret-value"))
        XCTAssertFalse(ConstantTime.equals("", "s3cret-value"))
    }
}

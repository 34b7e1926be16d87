import XCTest
@testable import Stages

final class RankPathTests: XCTestCase {
    func testRankGoesBeforeTheExtensionOrTheDefaultOne() {
        XCTAssertEqual(rankPath("/out/d.h5", rank: 3, defaultExtension: "h5"), "/out/d.rank3.h5")
        XCTAssertEqual(rankPath("/out/d", rank: 0, defaultExtension: "h5"), "/out/d.rank0.h5")
        XCTAssertEqual(rankPath("/out/t.json", rank: 1, defaultExtension: "json"), "/out/t.rank1.json")
        XCTAssertEqual(rankPath("/out/t", rank: 2, defaultExtension: "json"), "/out/t.rank2.json")
        XCTAssertEqual(rankPath("/out.d/t", rank: 2, defaultExtension: "json"), "/out.d/t.rank2.json")
    }
}

import XCTest
@testable import Stages

/// A receiver checks every message's header against what its schedule
/// expects: a wrong one is an error naming both, not a silent misread.
final class MessageHeaderTests: XCTestCase {
    func header(step: Int, rows: Int = 2) -> MessageHeader {
        MessageHeader(kind: .activations, step: step, microbatch: 0, sourceStage: 0, rows: rows, floats: 8, sourceRank: 0)
    }

    /// Rank 0 sends `sent`; rank 1's inbox consumes it expecting `expected`.
    func deliver(_ sent: MessageHeader, expecting expected: MessageHeader, garble: Bool = false) throws {
        let hub = LoopbackHub(worldSize: 2)
        let outbox = Outbox(transport: hub.transport(rank: 0), kind: .activations, floats: 8)
        let inbox = try Inbox(transport: hub.transport(rank: 1), kind: .activations, peer: 0, floats: 8, depth: 2, total: 1)
        try outbox.send(sent, to: [1], trace: nil) { p in
            if garble { (UnsafeMutableRawPointer(p) - MessageHeader.size).storeBytes(of: 0, as: Int32.self) }
            p.update(repeating: 1, count: 8)
        }
        var read = false
        while try !inbox.consume(expected, { _ in read = true }) {}
        XCTAssertTrue(read)
    }

    func testTheExpectedHeaderIsConsumed() throws {
        try deliver(header(step: 3), expecting: header(step: 3))
    }

    func testAWrongHeaderNamesBoth() throws {
        XCTAssertThrowsError(try deliver(header(step: 4), expecting: header(step: 3))) { error in
            XCTAssertEqual("\(error)", "rank 1: expected activations step 3 micro-batch 0 from rank 0 (stage 0), 2 rows, 8 floats"
                           + " but received activations step 4 micro-batch 0 from rank 0 (stage 0), 2 rows, 8 floats; are all ranks running the same config?")
        }
        XCTAssertThrowsError(try deliver(header(step: 3, rows: 1), expecting: header(step: 3))) { error in
            XCTAssertTrue("\(error)".contains("but received activations step 3 micro-batch 0 from rank 0 (stage 0), 1 rows"), "\(error)")
        }
    }

    func testAMessageWithoutAHeaderIsNamed() throws {
        XCTAssertThrowsError(try deliver(header(step: 3), expecting: header(step: 3), garble: true)) { error in
            XCTAssertTrue("\(error)".hasPrefix("rank 1: a message without a valid header arrived where activations step 3"), "\(error)")
            XCTAssertTrue("\(error)".contains("same build and config"), "\(error)")
        }
    }
}

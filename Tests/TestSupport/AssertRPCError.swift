import FleetRPC
import XCTest

/// Runs `body`, which must fail with an `RPCError` of `code` (and, when given, `field` in its
/// `vf-field` metadata, and `item` in its `vf-item`); returns the error for further checks.
@discardableResult
public func assertRPCError<T>(_ code: RPCError.Code, field: String? = nil, item: String? = nil, _ body: () async throws -> T,
                              file: StaticString = #filePath, line: UInt = #line) async -> RPCError? {
    do {
        _ = try await body()
        XCTFail("expected \(code)", file: file, line: line)
    } catch let error as RPCError {
        XCTAssertEqual(error.code, code, error.message, file: file, line: line)
        if let field { XCTAssertEqual(error.metadata.values(for: "vf-field").first, field, error.message, file: file, line: line) }
        if let item { XCTAssertEqual(error.metadata.values(for: "vf-item").first, item, error.message, file: file, line: line) }
        return error
    } catch {
        XCTFail("expected RPCError \(code), got \(error)", file: file, line: line)
    }
    return nil
}

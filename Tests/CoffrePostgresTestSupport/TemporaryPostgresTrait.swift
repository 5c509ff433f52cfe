import Testing

/// Gives a whole suite one `TemporaryPostgres`, started before its first test and removed after its last:
/// `@Suite(.temporaryPostgres) struct …`, then `try TemporaryPostgres.requireCurrent()` in the tests (each test
/// usually takes its own database with `createDatabase()`). Tests that stop the server need a cluster of their own
/// (`TemporaryPostgres.with`), as the suite's tests run in parallel.
public struct TemporaryPostgresTrait: SuiteTrait, TestScoping {
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await TemporaryPostgres.with { server in
            try await TemporaryPostgres.$current.withValue(server) { try await function() }
        }
    }
}

extension Trait where Self == TemporaryPostgresTrait {
    /// One temporary PostgreSQL cluster for the suite; see `TemporaryPostgresTrait`.
    public static var temporaryPostgres: Self { TemporaryPostgresTrait() }
}

extension TemporaryPostgres {
    /// The cluster of the enclosing `.temporaryPostgres` suite.
    @TaskLocal public static var current: TemporaryPostgres?

    /// The cluster of the enclosing `.temporaryPostgres` suite, or a failure naming the missing trait.
    public static func requireCurrent() throws -> TemporaryPostgres {
        guard let current else { throw TemporaryPostgresError("this test needs @Suite(.temporaryPostgres)") }
        return current
    }
}

import GRDB

/// Opens one of the alert target's SQLite files (WAL, through GRDB) and brings its schema up to date. A failure
/// names the file and what it holds, with `code`.
func openSQLiteStore(
    _ path: String, holding what: String, code: AlertsError.Code,
    migrations: (inout DatabaseMigrator) -> Void
) throws -> DatabasePool {
    var configuration = Configuration()
    // Another process (a pipeline, `veilgate alerts raise`) may hold the write lock for a moment.
    configuration.busyMode = .timeout(5)
    do {
        let pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrations(&migrator)
        try migrator.migrate(pool)
        return pool
    } catch {
        throw AlertsError(code, "\(path): cannot open the \(what) (\(error))")
    }
}

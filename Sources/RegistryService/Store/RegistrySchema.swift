import GRDB

/// The registry's SQLite schema, one migration per change. Each entity keeps its searchable
/// keys in columns and the rest as its serialized protobuf record.
enum RegistrySchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE model (
                    name TEXT PRIMARY KEY,
                    task INTEGER NOT NULL,
                    last_version INTEGER NOT NULL DEFAULT 0,
                    record BLOB NOT NULL);
                CREATE TABLE version (
                    model TEXT NOT NULL REFERENCES model(name) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    record BLOB NOT NULL,
                    PRIMARY KEY (model, version));
                CREATE TABLE version_file (
                    model TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    path TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    PRIMARY KEY (model, version, path),
                    FOREIGN KEY (model, version) REFERENCES version(model, version) ON DELETE CASCADE);
                CREATE INDEX version_file_digest ON version_file(digest);
                CREATE TABLE alias (
                    model TEXT NOT NULL REFERENCES model(name) ON DELETE CASCADE,
                    alias TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    PRIMARY KEY (model, alias),
                    FOREIGN KEY (model, version) REFERENCES version(model, version));
                CREATE TABLE alias_change (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    model TEXT NOT NULL,
                    alias TEXT NOT NULL,
                    record BLOB NOT NULL);
                CREATE INDEX alias_change_by_alias ON alias_change(model, alias, id);
                CREATE TABLE event (
                    sequence INTEGER PRIMARY KEY,
                    model TEXT NOT NULL,
                    record BLOB NOT NULL);
                CREATE INDEX event_by_model ON event(model, sequence);
                """)
        }
        return migrator
    }
}

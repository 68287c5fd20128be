import PostgresLibpq

/// The database roles the daemon works as (docs/operations.md, Database roles).
///
/// - `incident_app` (migration 0001, `NOLOGIN`) holds every privilege the daemon's work needs:
///   the grants of the migrations, nothing else. It owns nothing.
/// - The **runtime role** logs in: `incident_runtime` on the embedded cluster (an external
///   database names its own in `--database-url`). It is `NOINHERIT`, owns nothing and is a member
///   of `incident_app` only, so a session has no privileges until it runs `SET ROLE incident_app`
///   (``sessionSetup``), and `RESET ROLE` takes it back to a role that can do less, not more.
/// - The **owner** (the embedded cluster's superuser, or `--migration-database-url`) runs the
///   migrations and owns the tables; serving connections never log in as it.
public enum DatabaseRoles {
    /// The role whose grants the daemon works with.
    public static let app = "incident_app"
    /// The login role of the embedded cluster's serving connections.
    public static let runtime = "incident_runtime"
    /// What every serving connection runs first.
    public static let sessionSetup = ["SET ROLE \(app)"]

    /// What a login role may do beyond `incident_app`.
    public struct Standing: Sendable, Equatable {
        /// The login role (`session_user`).
        public var role: String
        /// It may `SET ROLE incident_app` (it is a member; a superuser is a member of every role).
        public var isAppMember: Bool
        /// Why a session of this role could do more than `incident_app`, in words for the log
        /// ("superuser", "owns the database", …); empty when it cannot.
        public var privileges: [String]

        public var isPrivileged: Bool { !privileges.isEmpty }
    }

    /// The standing of the connection's login role, whatever role the session has set.
    ///
    /// A session can become every role its login role is a member of (`SET ROLE`, or `RESET ROLE`
    /// back to the login role), so each of those counts: a superuser, a role that may create roles
    /// (which can grant itself any other), replicate or bypass row security, a member of a
    /// predefined role that reads or writes all data or the server's files, an owner of the
    /// database or of any schema, table or function in it (ownership carries every privilege,
    /// `ALTER` and `DROP` included), or a role that may create objects in it (it would own them).
    /// `CREATEDB` does not count: a database of its own gives it nothing in this one.
    public static func standing(on connection: PostgresConnection) throws -> Standing {
        let row = try connection.query(
            """
            WITH reachable AS (SELECT r.* FROM pg_roles r WHERE pg_has_role(session_user, r.oid, 'MEMBER'))
            SELECT session_user::text,
                   EXISTS (SELECT FROM reachable WHERE rolname = $1),
                   concat_ws(';',
                       CASE WHEN EXISTS (SELECT FROM reachable WHERE rolsuper) THEN 'superuser' END,
                       CASE WHEN EXISTS (SELECT FROM reachable WHERE rolcreaterole) THEN 'may create roles' END,
                       CASE WHEN EXISTS (SELECT FROM reachable WHERE rolreplication OR rolbypassrls) THEN 'may replicate or bypass row security' END,
                       CASE WHEN EXISTS (SELECT FROM reachable WHERE rolname IN ('pg_read_all_data', 'pg_write_all_data',
                               'pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program'))
                            THEN 'member of a predefined role that reaches all data or the server''s files' END,
                       CASE WHEN EXISTS (SELECT FROM pg_database d JOIN reachable r ON r.oid = d.datdba WHERE d.datname = current_database())
                            THEN 'owns the database' END,
                       CASE WHEN EXISTS (SELECT FROM pg_namespace n JOIN reachable r ON r.oid = n.nspowner)
                              OR EXISTS (SELECT FROM pg_class c JOIN reachable r ON r.oid = c.relowner)
                              OR EXISTS (SELECT FROM pg_proc p JOIN reachable r ON r.oid = p.proowner)
                            THEN 'owns objects in the database' END,
                       CASE WHEN EXISTS (SELECT FROM reachable r WHERE has_database_privilege(r.oid, current_database(), 'CREATE'))
                              OR EXISTS (SELECT FROM reachable r, pg_namespace n WHERE has_schema_privilege(r.oid, n.oid, 'CREATE'))
                            THEN 'may create objects in the database' END)
            """, [app]
        ).first!
        let reasons = try row.decode(2, as: String.self)
        return Standing(
            role: try row.decode(0, as: String.self),
            isAppMember: try row.decode(1, as: Bool.self),
            privileges: reasons.isEmpty ? [] : reasons.split(separator: ";").map(String.init)
        )
    }

    /// As the owner: takes from `PUBLIC` (every role, the runtime role included) what the daemon
    /// never uses: `CREATE` on schema `public` (PostgreSQL 15 no longer grants it to new databases,
    /// but a database upgraded from an older release keeps it) and `TEMPORARY` on the database
    /// (temporary tables and functions a session would own). Owners and superusers keep theirs.
    /// Each start does it (database privileges are not in a dump, so a restore loses them); a
    /// privilege that is already gone, or one the role may not revoke (not the owner), is left
    /// alone without a warning. Serialised with migrations by their advisory lock.
    public static func restrictPublic(on connection: PostgresConnection) throws {
        try underMigrationLock(
            on: connection,
            """
            DO $$
            DECLARE
                database_owner oid := (SELECT datdba FROM pg_database WHERE datname = current_database());
                schema_owner oid := (SELECT nspowner FROM pg_namespace WHERE nspname = 'public');
            BEGIN
                IF has_database_privilege('public', current_database(), 'TEMPORARY') AND pg_has_role(current_user, database_owner, 'USAGE') THEN
                    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
                END IF;
                IF schema_owner IS NOT NULL AND has_schema_privilege('public', 'public', 'CREATE') AND pg_has_role(current_user, schema_owner, 'USAGE') THEN
                    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
                END IF;
            END
            $$
            """)
    }

    /// As a superuser of the embedded cluster, after the migrations made `incident_app`: creates
    /// the runtime role (``runtime``), or brings it back to what it must be, and makes it a member
    /// of `incident_app`. It has no password: it logs in by `peer` (LocalCluster's `pg_hba.conf`).
    /// Writes nothing when all is as it should be; serialised with migrations by their lock. (The
    /// role names are this file's constants, not values: DDL takes no parameters.)
    public static func ensureRuntimeRole(on connection: PostgresConnection) throws {
        try underMigrationLock(
            on: connection,
            """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(runtime)') THEN
                    CREATE ROLE \(runtime) LOGIN NOINHERIT;
                ELSIF NOT EXISTS (SELECT FROM pg_authid WHERE rolname = '\(runtime)' AND rolcanlogin AND NOT rolinherit AND NOT rolsuper
                                  AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolreplication AND NOT rolbypassrls
                                  AND rolpassword IS NULL) THEN
                    ALTER ROLE \(runtime) LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;
                END IF;
                IF NOT pg_has_role('\(runtime)', '\(app)', 'MEMBER') THEN
                    GRANT \(app) TO \(runtime);
                END IF;
            END
            $$
            """)
    }

    /// Runs `sql` in a transaction of its own, serialised with migrations by their advisory lock.
    private static func underMigrationLock(on connection: PostgresConnection, _ sql: String) throws {
        try connection.transaction { connection in
            try connection.query("SELECT pg_advisory_xact_lock($1)", [Migrator.lockKey])
            try connection.execute(sql)
        }
    }
}

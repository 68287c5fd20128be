import Foundation
import Logging

/// Who may log in to the private cluster (docs/operations.md, Database roles): every local connection authenticates,
/// none is trusted.
///
/// - The superuser (`postgres`, the migrations' owner) and the daemon's runtime role
///   (`incident_runtime`) log in by `peer`: the kernel says which operating-system user is at the
///   other end of the socket, and `pg_ident.conf` (map `incident`) lets this process's user in as
///   either role, and the server's own user (`postgres` when this process is root) as the superuser,
///   so `psql`, `pg_dump` and `pg_restore` run by either of them work. No password exists for them.
/// - Any other role needs its password (`scram-sha-256`): roles an operator adds by hand.
/// - TCP is off (`listen_addresses = ''`), and rejected here too.
///
/// Both files are rewritten at every start when they differ, so a data directory made by an
/// earlier release (which trusted every local connection) is upgraded, and a running server reloads
/// them. They say the same on every start as the same user.
extension LocalCluster {
    /// The `pg_ident.conf` map of the peer logins.
    static let identMap = "incident"

    /// The operating-system users that may log in as the superuser: this process's, and the server's.
    func peerUsers() throws -> (current: String, server: String) {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name.map({ String(cString: $0) }) else {
            throw Failure(description: "this process's user (uid \(geteuid())) has no name in the user database; PostgreSQL's peer authentication needs one")
        }
        // pg_ident.conf would read a name with spaces, quotes or a leading slash as something else.
        let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$")
        guard !name.isEmpty, name.first != "-", name.allSatisfy(plain.contains) else {
            throw Failure(description: "the user name \(name) cannot be written into pg_ident.conf")
        }
        return (name, Self.isRoot ? Self.serverUser : name)
    }

    /// What `pg_hba.conf` says.
    func hostBasedAuthentication() -> String {
        """
        # Written by incidentd at every start of this cluster (edits are replaced).
        # Every local connection authenticates; nothing is trusted. The superuser and the daemon's
        # runtime role log in by peer, as the operating-system users in pg_ident.conf (map
        # "\(Self.identMap)"); any other role by its password. There is no TCP listener.
        # TYPE  DATABASE     USER                        ADDRESS  METHOD
        local   all          \(Self.superuser),\(DatabaseRoles.runtime)            peer  map=\(Self.identMap)
        local   replication  \(Self.superuser)                             peer  map=\(Self.identMap)
        local   all          all                                  scram-sha-256
        host    all          all                         all      reject
        host    replication  all                         all      reject

        """
    }

    /// What `pg_ident.conf` says.
    func identMapping() throws -> String {
        let users = try peerUsers()
        var lines = [
            "# Written by incidentd at every start of this cluster (edits are replaced): the",
            "# operating-system users that log in by peer (pg_hba.conf), and as which roles.",
            "# MAPNAME  SYSTEM-USERNAME  PG-USERNAME",
            "\(Self.identMap)  \(users.current)  \(Self.superuser)",
            "\(Self.identMap)  \(users.current)  \(DatabaseRoles.runtime)",
        ]
        if users.server != users.current { lines.append("\(Self.identMap)  \(users.server)  \(Self.superuser)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `pg_hba.conf` and `pg_ident.conf` where they differ from what they must say.
    ///
    /// - Returns: true when a file changed (a running server must reload them).
    func writeAuthentication() throws -> Bool {
        let hba = try writeConfigurationFile("pg_hba.conf", hostBasedAuthentication())
        let ident = try writeConfigurationFile("pg_ident.conf", try identMapping())
        return hba || ident
    }

    /// Makes the cluster's authentication what it must be; a running server rereads it at once.
    func secureAuthentication(running: Bool, logger: Logger) throws {
        guard try writeAuthentication() else { return }
        logger.info("local PostgreSQL authentication written (peer and scram-sha-256; nothing trusted)", metadata: ["db.data_dir": "\(dataDirectory)"])
        // An upgrade from a release that trusted local connections, while its server still runs:
        // until the server has reread the files (a signal away), connections are trusted as before.
        if running {
            try runAsServerUser(binDirectory + "/pg_ctl", ["-D", dataDirectory, "reload"], what: "reload PostgreSQL's authentication")
        }
    }

    /// Replaces a configuration file in the data directory when its text differs: a new file
    /// (mode 0600, owned like the data directory, so the server can read it when this process is
    /// root) renamed over the old one.
    private func writeConfigurationFile(_ name: String, _ text: String) throws -> Bool {
        let path = dataDirectory + "/" + name
        if let existing = try? String(contentsOfFile: path, encoding: .utf8), existing == text { return false }
        var directory = stat()
        guard stat(dataDirectory, &directory) == 0 else {
            throw Failure(description: "cannot read \(dataDirectory): \(String(cString: strerror(errno)))")
        }
        let temporary = path + ".incidentd"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let failed = written != bytes.count || fchown(descriptor, directory.st_uid, directory.st_gid) != 0 || fsync(descriptor) != 0
        let reason = String(cString: strerror(errno))
        close(descriptor)
        guard !failed, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure(description: "cannot write \(path): \(reason)")
        }
        return true
    }
}

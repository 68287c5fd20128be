import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import IncidentStore
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP API and the projector (the default command).",
        discussion: "SIGTERM or SIGINT: stop accepting, finish in-flight requests, commit the projector's batch, stop the embedded database, exit 0."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Log format: json or text (level from LOG_LEVEL).") var logFormat: LogFormat = .text
    @Option(help: "Database connections (and their threads).") var poolSize = 8
    @Option(help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM); needs --tls-key.", valueName: "file")) var tlsCert: String?
    @Option(help: ArgumentHelp("The private key (PEM) of --tls-cert.", valueName: "file")) var tlsKey: String?
    @OptionGroup var database: DatabaseOptions

    enum LogFormat: String, ExpressibleByArgument { case json, text }

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        Logging.bootstrap(format: logFormat)
        // Before anything starts: a certificate that cannot be read is a configuration error.
        let tls = try tlsCert.map { try serverTLS(certificate: $0, key: tlsKey!) }
        let logger = Logger(label: "incidentd")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let keySource = try database.masterKeySource()
        let db = try await Database.open(database, logger: logger)
        do {
            let keys = try keySource.load(logger: logger)
            try await serve(db, keys: keys, keySource: keySource, tls: tls, registry: registry, logger: logger)
        } catch {
            await db.stopEmbedded(logger: logger)
            throw error
        }
        await db.stopEmbedded(logger: logger)
    }

    private func serve(_ db: Database, keys: KeyRing, keySource: MasterKeySource, tls: TLSConfiguration?, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
        // Migrations run as the database owner; the service then works as incident_app when it may.
        let owner = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1), logger: logger)
        let canUseAppRole: Bool
        do {
            try await Migrator().migrate(owner, logger: logger)
            try await owner.withConnection { try LogClock.check(on: $0) }
            try await prepareKeys(keys, source: keySource, owner: owner, logger: logger)
            canUseAppRole = try await owner.withConnection {
                try $0.query("SELECT pg_has_role(current_user, 'incident_app', 'MEMBER')").first?.decode(0, as: Bool.self) ?? false
            }
        } catch {
            await owner.close()
            throw error
        }
        await owner.close()
        if !canUseAppRole {
            logger.warning("the database role is not a member of incident_app; running with its own privileges")
        }
        let pool = ConnectionPool(
            configuration: .init(conninfo: db.conninfo, maxConnections: poolSize, setupStatements: canUseAppRole ? ["SET ROLE incident_app"] : []),
            logger: logger
        )
        let app = try await buildApplication(pool: pool, keys: keys, erasures: keySource.ledger, host: host, port: port, registry: registry, logger: logger, tls: tls)
        logger.info("incidentd listening", metadata: ["http.host": "\(host)", "http.port": "\(port)", "http.tls": "\(tls != nil)", "db.embedded": "\(db.cluster != nil)"])
        do {
            try await app.runService()
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
        logger.info("incidentd stopped")
    }
}

/// Before anything is served, as the owner: binds the database to the master key, wraps keys that
/// older versions stored in plain, and applies the erasure ledger (a restored backup must not
/// bring erased data back).
func prepareKeys(_ keys: KeyRing, source: MasterKeySource, owner: ConnectionPool, logger: Logger) async throws {
    let wrapped = try await owner.withConnection { connection in
        try connection.transaction { connection in
            do {
                try keys.attach(on: connection, path: source.path)
            } catch let error as MasterKeyError {
                throw ValidationError(error.description)
            }
            return try LegacyKeys.wrap(with: keys, on: connection)
        }
    }
    if wrapped > 0 { logger.notice("wrapped the keys stored in plain by an earlier version", metadata: ["keys.wrapped": "\(wrapped)"]) }
    // The runtime role may only read outbox_keys: the key pair ictl seals its outbox to is made here.
    if let created = try await owner.withConnection({ try $0.transaction { try OutboxKeys(ring: keys).ensureCurrent(on: $0) } }) {
        logger.notice("made the outbox key pair", metadata: ["outbox.key_id": "\(created.id)"])
    }
    let service = IncidentService(pool: owner, reference: try await ReferenceData.load(owner), keys: keys, erasures: source.ledger)
    let applied = try await service.applyErasures(from: source.ledger)
    if applied > 0 { logger.notice("applied the erasure ledger to a database that lacked erasures", metadata: ["erasures.applied": "\(applied)"]) }
}

/// The whole service on a pool: router, projector, metrics. `serve` and the tests build it alike.
func buildApplication(
    pool: ConnectionPool, keys: KeyRing, erasures: ErasureLedger? = nil, host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
    tokenCache: TokenCache = TokenCache(), tls: TLSConfiguration? = nil, bodyStall: Duration = .seconds(20)
) async throws -> some ApplicationProtocol {
    let reference = try await ReferenceData.load(pool)
    let projections: [any Projection] = [IncidentsProjection(regions: reference.regions), RegionSummaryProjection(regions: reference.regions)]
    let deps = AppDependencies(
        pool: pool, service: IncidentService(pool: pool, reference: reference, keys: keys, erasures: erasures),
        tokens: AccessTokens(pool: pool, cache: tokenCache), projections: projections, bodyStall: bodyStall, outbox: OutboxKeys(ring: keys)
    )
    let router = buildRouter(deps)
    router.get("/metrics") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
    let projector = ProjectorService(pool: pool, projections: projections, logger: logger)
    let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(60))
    return Application(
        router: router,
        // A connection with no request in progress (or still trickling its headers) for 60 s is closed.
        server: try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1),
        configuration: .init(address: .hostname(host, port: port), serverName: "incidentd"),
        services: [projector, TokenCacheListener(pool: pool, cache: tokenCache, logger: logger)],
        logger: logger
    )
}

/// The server side of TLS from PEM files: the certificate chain (leaf first) and its key.
func serverTLS(certificate: String, key: String) throws -> TLSConfiguration {
    let chain: [NIOSSLCertificate]
    let privateKey: NIOSSLPrivateKey
    do {
        chain = try NIOSSLCertificate.fromPEMFile(certificate)
    } catch {
        throw ValidationError("cannot read the TLS certificate \(certificate): \(error)")
    }
    guard !chain.isEmpty else { throw ValidationError("no PEM certificate in \(certificate)") }
    do {
        privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
    } catch {
        throw ValidationError("cannot read the TLS key \(key): \(error)")
    }
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
    configuration.minimumTLSVersion = .tlsv12
    return configuration
}

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

        let db = try await Database.open(database, logger: logger)
        do {
            try await serve(db, tls: tls, registry: registry, logger: logger)
        } catch {
            await db.stopEmbedded(logger: logger)
            throw error
        }
        await db.stopEmbedded(logger: logger)
    }

    private func serve(_ db: Database, tls: TLSConfiguration?, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
        // Migrations run as the owner; the serving connections log in as the runtime role and
        // work as incident_app (PRODUCT.md §10.6).
        let sessions = try await db.prepare(logger: logger)
        let standing = sessions.standing
        Gauge(label: "incident_database_privileged").record(standing.isPrivileged ? 1 : 0)
        if standing.isPrivileged {
            logger.warning(
                "the daemon's database role can do more than incident_app: give the runtime role as --database-url and the owner as --migration-database-url (docs/operations.md)",
                metadata: ["db.role": "\(standing.role)", "db.privileges": "\(standing.privileges.joined(separator: ", "))"])
        }
        if !standing.isAppMember {
            logger.warning("the database role is not a member of incident_app; running with its own privileges", metadata: ["db.role": "\(standing.role)"])
        }
        let pool = ConnectionPool(
            configuration: .init(conninfo: db.conninfo, maxConnections: poolSize, setupStatements: sessions.setupStatements),
            logger: logger
        )
        let app = try await buildApplication(pool: pool, host: host, port: port, registry: registry, logger: logger, tls: tls)
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

/// The whole service on a pool: router, projector, metrics. `serve` and the tests build it alike.
func buildApplication(
    pool: ConnectionPool, host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
    tokenCache: TokenCache = TokenCache(), tls: TLSConfiguration? = nil, bodyStall: Duration = .seconds(20)
) async throws -> some ApplicationProtocol {
    let reference = try await ReferenceData.load(pool)
    let projections: [any Projection] = [IncidentsProjection(regions: reference.regions), RegionSummaryProjection(regions: reference.regions)]
    let deps = AppDependencies(
        pool: pool, service: IncidentService(pool: pool, reference: reference),
        tokens: AccessTokens(pool: pool, cache: tokenCache), projections: projections, bodyStall: bodyStall
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

import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import IncidentStore
import IncidentTransport
import Logging
import Metrics
import PostgresLibpq
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
    @Flag(help: "Mark the web console's cookies Secure while serving plain HTTP: behind a proxy that terminates TLS.") var secureCookies = false
    @Flag(help: "Serve plain HTTP on a --host that is not loopback (refused without it): tokens and incident data then cross the network unencrypted.")
    var insecureHttp = false
    @Option(help: ArgumentHelp("Analysts see confidential incidents only in district × ISO week × category cells holding at least K of them.", valueName: "K"))
    var disclosureThreshold = Disclosure.defaultThreshold
    @Option(
        help: ArgumentHelp(
            "The statement_timeout of every statement an API request runs (e.g. 500ms, 10s, 1m; 0: none); past it, 503 database_timeout. The projector, rebuilds and migrations have none.",
            valueName: "duration"))
    var statementTimeout = TimeLimit(text: "10s")!
    @Option(help: ArgumentHelp("Failed authentications from one client address within 60 s after which it is refused (429) for 60 s.", valueName: "count"))
    var authFailureLimit = 20
    @Option(
        help: ArgumentHelp(
            "A hot standby for lists, summaries, digests, the log and the stream, as the runtime role (also INCIDENT_REPLICA_DATABASE_URL); writes and single incidents read from the primary.",
            valueName: "conninfo"))
    var replicaDatabaseURL: String?
    @Option(help: ArgumentHelp("Past this lag (e.g. 30s, 500ms) the standby is skipped and reads go to the primary.", valueName: "duration"))
    var replicaMaxLag = TimeLimit(text: "30s")!
    @Option(
        name: .customLong("allow-webhook-host"),
        help: ArgumentHelp("Let webhooks go to this host over http and to loopback or private addresses (repeatable; tests, local receivers).", valueName: "host"))
    var allowedWebhookHosts: [String] = []
    @Option(help: ArgumentHelp("A webhook try with no answer within this long (e.g. 10s, 500ms) has failed.", valueName: "duration"))
    var webhookTimeout = TimeLimit(text: "10s")!
    @Option(help: ArgumentHelp("The wait after a webhook's first failed try, doubled for each further one.", valueName: "duration"))
    var webhookRetryMin = TimeLimit(text: "1s")!
    @Option(help: ArgumentHelp("The longest wait between two tries of one webhook.", valueName: "duration"))
    var webhookRetryMax = TimeLimit(text: "10m")!
    @OptionGroup var database: DatabaseOptions

    enum LogFormat: String, ExpressibleByArgument { case json, text }

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if authFailureLimit < 1 { throw ValidationError("--auth-failure-limit must be at least 1") }
        if disclosureThreshold < 1 { throw ValidationError("--disclosure-threshold must be at least 1") }
        for (flag, limit) in [("--webhook-timeout", webhookTimeout), ("--webhook-retry-min", webhookRetryMin), ("--webhook-retry-max", webhookRetryMax)]
        where limit.duration == nil {
            throw ValidationError("\(flag) must be a duration such as 500ms, 10s or 2m, not 0")
        }
        if webhookRetryMin.duration! > webhookRetryMax.duration! { throw ValidationError("--webhook-retry-min must not be longer than --webhook-retry-max") }
        if servesPlainHTTPBeyondLoopback && !insecureHttp {
            // One line on stderr (docs/operations.md, TLS); a ValidationError would add the usage text.
            FileHandle.standardError.write(
                Data(
                    ("incidentd: --host \(host) is not a loopback address, and plain HTTP there carries tokens and incident data unencrypted: "
                        + "give --tls-cert and --tls-key, or --insecure-http to serve plain HTTP anyway\n").utf8))
            throw ExitCode.validationFailure
        }
    }

    /// The standby's connection info, if one is configured.
    private var replicaConninfo: String? {
        if let replicaDatabaseURL, !replicaDatabaseURL.isEmpty { return replicaDatabaseURL }
        if let url = ProcessInfo.processInfo.environment["INCIDENT_REPLICA_DATABASE_URL"], !url.isEmpty { return url }
        return nil
    }

    /// Plain HTTP on an address other machines can reach.
    private var servesPlainHTTPBeyondLoopback: Bool { tlsCert == nil && !Loopback.contains(host) }

    func run() async throws {
        Logging.bootstrap(format: logFormat)
        // Before anything starts: a certificate that cannot be read is a configuration error.
        let tls = try tlsCert.map { try serverTLS(certificate: $0, key: tlsKey!) }
        let logger = Logger(label: "incidentd")
        if servesPlainHTTPBeyondLoopback {
            logger.warning(
                "serving plain HTTP beyond loopback (--insecure-http): tokens and incident data cross the network unencrypted", metadata: ["http.host": "\(host)"])
        }
        try await ListenAddress.check(host: host, port: port)
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

    private func serve(
        _ db: Database, keys: KeyRing, keySource: MasterKeySource, tls: TLSConfiguration?, registry: PrometheusCollectorRegistry, logger: Logger
    ) async throws {
        // Migrations run as the owner; the serving connections log in as the runtime role and
        // work as incident_app (docs/operations.md, Database roles). The keys are ready before anything is served.
        let sessions = try await db.whilePrimaryUnreachable(logger: logger) {
            try await db.prepare(logger: logger) { try await prepareKeys(keys, source: keySource, on: $0, logger: logger) }
        }
        reportDatabaseTransport(sessions.transport, logger: logger)
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
        let replica = replicaConninfo.map {
            ConnectionPool(configuration: .init(conninfo: $0, maxConnections: poolSize, setupStatements: sessions.setupStatements), logger: logger)
        }
        let reads = ReadRouting(primary: pool, replica: replica, maxLag: replicaMaxLag.duration ?? .seconds(30))
        let app = try await buildApplication(
            pool: pool, reads: reads, keys: keys, erasures: keySource.ledger, host: host, port: port, registry: registry, logger: logger, tls: tls,
            statementTimeout: statementTimeout.duration, authFailures: AuthFailureLimiter(limit: authFailureLimit),
            disclosure: Disclosure(threshold: disclosureThreshold), secureCookies: secureCookies || tls != nil,
            webhooks: WebhookSettings(
                policy: WebhookPolicy(allowedHosts: Set(allowedWebhookHosts.map { $0.lowercased() })), timeout: webhookTimeout.duration!,
                retryMin: webhookRetryMin.duration!, retryMax: webhookRetryMax.duration!),
            owning: [pool] + (replica.map { [$0] } ?? [])
        ) { [host, port] in
            logger.info(
                "incidentd listening", metadata: ["http.host": "\(host)", "http.port": "\(port)", "http.tls": "\(tls != nil)", "db.embedded": "\(db.cluster != nil)"])
        }
        try await app.runService()
        logger.info("incidentd stopped")
    }
}

/// Before anything is served, as the owner where there is one: binds the database to the master
/// key, wraps keys that older versions stored in plain, and applies the erasure ledger (a restored
/// backup must not bring erased data back).
func prepareKeys(_ keys: KeyRing, source: MasterKeySource, on owner: ConnectionPool, logger: Logger) async throws {
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
    // The ledger also takes what the database knows and it missed (written through another
    // host's ledger, or before a rotation moved the key).
    let learned = try await owner.withConnection { try source.ledger.merge(ErasureLedger.recorded(in: $0)) }
    if learned > 0 { logger.notice("the erasure ledger took erasures it lacked from the database", metadata: ["erasures.learned": "\(learned)"]) }
    let incidents = IncidentsProjection(regions: service.reference.regions, narrative: service.narrative)
    let sealed = try await owner.withConnection { try incidents.sealPlainConfidentialRows(on: $0) }
    if sealed > 0 { logger.notice("sealed the text of confidential incidents kept in plain by an earlier version", metadata: ["incidents.sealed": "\(sealed)"]) }
    if applied > 0 {
        // The read models take the erasures and redactions in before anything reads them.
        let projections: [any Projection] = [incidents, RegionSummaryProjection(regions: service.reference.regions)]
        try await owner.withConnection { connection in
            for projection in projections { while try projection.catchUp(on: connection, limit: 2000) > 0 {} }
        }
        logger.notice("applied the erasure ledger to a database that lacked erasures", metadata: ["erasures.applied": "\(applied)"])
    }
}

/// Warns when the database connection is neither encrypted nor local, and says so on `/metrics`:
/// `incident_database_tls` is 0 then, 1 when the connection uses TLS or does not leave the
/// machine (a Unix socket, a loopback address). Checked once, on the first connection at start.
func reportDatabaseTransport(_ transport: ConnectionTransport?, logger: Logger) {
    // Unknown counts as exposed.
    let protected = transport?.isProtected ?? false
    Gauge(label: "incident_database_tls").record(protected ? 1 : 0)
    guard !protected else { return }
    logger.warning(
        "the database connection is not encrypted and leaves this machine: incident data crosses the network in clear; add sslmode=verify-full (or require) to the connection string",
        metadata: ["db.host": "\(transport?.host ?? "?")", "db.address": "\(transport?.address ?? "?")"]
    )
}

/// The whole service on a pool: router, projector, metrics. `serve` and the tests build it alike.
/// `owning`: services the application runs first and stops last (`serve` gives its pool; a test
/// keeps its own). `listening` runs once the address is bound.
func buildApplication(
    pool: ConnectionPool, reads: ReadRouting? = nil, keys: KeyRing, erasures: ErasureLedger? = nil, host: String, port: Int, registry: PrometheusCollectorRegistry,
    logger: Logger,
    tokenCache: TokenCache = TokenCache(), tls: TLSConfiguration? = nil, bodyStall: Duration = .seconds(20),
    statementTimeout: Duration? = .seconds(10), authFailures: AuthFailureLimiter = AuthFailureLimiter(), streamRecheck: Duration = .seconds(2),
    disclosure: Disclosure = Disclosure(), secureCookies: Bool = false, webhooks: WebhookSettings = WebhookSettings(), owning: [any Service] = [],
    idleTimeout: Duration = .seconds(60), listening: @escaping @Sendable () async -> Void = {}
) async throws -> some ApplicationProtocol {
    let reference = try await ReferenceData.load(pool)
    let projections: [any Projection] = [
        IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: keys)), RegionSummaryProjection(regions: reference.regions),
    ]
    let rebuilds = RebuildService(pool: pool, logger: logger)
    let subscriptions = Subscriptions(pool: pool, keys: keys, reference: reference)
    let deps = AppDependencies(
        pool: pool, service: IncidentService(pool: pool, reference: reference, keys: keys, erasures: erasures, disclosure: disclosure, reads: reads),
        tokens: AccessTokens(pool: pool, cache: tokenCache), projections: projections, rebuilds: rebuilds, bodyStall: bodyStall, outbox: OutboxKeys(ring: keys),
        authFailures: authFailures, statementTimeout: statementTimeout, streamRecheck: streamRecheck, secureCookies: secureCookies || tls != nil,
        subscriptions: subscriptions, webhooks: webhooks.policy
    )
    let router = buildRouter(deps)
    // Open on loopback (a scraper on this machine, or behind the proxy); on any other address it
    // takes an admin token or a metrics token.
    let metricsOpen = Loopback.contains(host)
    router.get("/metrics") { request, context -> Response in
        if !metricsOpen {
            let (principal, _) = try await AuthMiddleware.authenticate(request, context: context, tokens: deps.tokens, failures: deps.authFailures)
            guard principal.role == .admin || principal.role == .metrics else {
                throw APIError(.forbidden, code: "forbidden", message: "/metrics takes an admin or a metrics token")
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
    let projector = ProjectorService(pool: pool, projections: projections, logger: logger)
    let dispatcher = SubscriptionDispatcher(
        pool: pool, subscriptions: subscriptions,
        sender: WebhookSender(client: WebhookSender.makeClient(timeout: webhooks.timeout), policy: webhooks.policy, timeout: webhooks.timeout),
        retryMin: webhooks.retryMin, retryMax: webhooks.retryMax, logger: logger)
    let http1 = HTTP1Channel.Configuration(idleTimeout: .init(idleTimeout))
    return Application(
        router: router,
        // A connection with no request in progress (or still trickling its headers) for idleTimeout (60 s) is closed.
        server: try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1),
        configuration: .init(address: .hostname(host, port: port), serverName: "incidentd"),
        services: owning + [projector, dispatcher, TokenCacheListener(pool: pool, cache: tokenCache, logger: logger), rebuilds]
            + (reads?.replica != nil ? [ReplicaMonitor(reads: reads!, logger: logger)] : []),
        onServerRunning: { _ in await listening() },
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

/// A duration given on the command line: `500ms`, `10s`, `2m`; `0` for none.
struct TimeLimit: ExpressibleByArgument, Sendable {
    /// nil: no limit.
    var duration: Duration?
    var text: String

    init?(argument: String) { self.init(text: argument) }

    init?(text: String) {
        self.text = text
        if text == "0" {
            duration = nil
            return
        }
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
        guard let (unit, factor) = units.first(where: { text.hasSuffix($0.0) && Int64(text.dropLast($0.0.count)) != nil }),
            let amount = Int64(text.dropLast(unit.count)), amount > 0, amount <= 86_400_000 / factor
        else { return nil }
        duration = .milliseconds(amount * factor)
    }

    var defaultValueDescription: String { text }
}

import IncidentStore

/// The OpenAPI 3.1 document of the API, served at `GET /v1/openapi.json`. A test checks that it
/// names every route the router has (and no other), and that every response the API tests receive
/// matches the schema documented for its status.
enum OpenAPI {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    static let string: JSONValue = ["type": "string"]
    static let integer: JSONValue = ["type": "integer"]
    static let number: JSONValue = ["type": "number"]
    static let boolean: JSONValue = ["type": "boolean"]
    static let date: JSONValue = ["type": "string", "format": "date"]
    static func nullable(_ type: String) -> JSONValue { ["type": [.string(type), "null"]] }
    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        ["type": "object", "properties": .object(properties), "required": .array(required.map { .string($0) })]
    }

    static func response(_ description: String, _ schema: JSONValue, type: String = "application/json") -> JSONValue {
        ["description": .string(description), "content": .object([type: ["schema": schema]])]
    }

    static let errors: [String: String] = [
        "400": "Malformed JSON, invalid UTF-8, unknown fields or bad parameters",
        "401": "Missing, unknown, revoked or expired token", "403": "The role may not do this (a metrics token may read /metrics only)",
        "404": "Not found (also for incidents the caller may not see)", "409": "Version or idempotency conflict, or a state that forbids it",
        "408": "The body stopped arriving (no byte for 20 s); the connection is closed", "413": "Body over the limit",
        "422": "Validation failed; every offending field is named",
        "410": "The envelope's key was retired more than 90 days ago (outbox_key_expired)",
        "503":
            "The database is unavailable (database_unavailable), did not answer within the statement timeout (database_timeout), or the audit record an audited action needs cannot be written (audit_unavailable: nothing was done); retry after Retry-After seconds",
        "429":
            "too_many_requests: too many failed authentications from this address (every request from it is refused for 60 s), a token's fifth stream, or a third batch import at once; retry after Retry-After seconds",
    ]

    static func operation(
        _ summary: String, _ ok: [String: JSONValue], errors codes: [String], body: JSONValue? = nil,
        parameters: [JSONValue] = [], auth: Bool = true
    ) -> JSONValue {
        var responses = ok
        for code in codes + (auth ? ["401", "403", "429", "503"] : []) + (body != nil ? ["408", "413"] : []) where responses[code] == nil {
            responses[code] = response(errors[code] ?? "Error", ref("Error"))
        }
        var operation: [String: JSONValue] = ["summary": .string(summary), "responses": .object(responses)]
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body { operation["requestBody"] = body }
        if !auth { operation["security"] = [] }
        return .object(operation)
    }

    static func query(_ name: String, _ description: String, schema: JSONValue = string) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false, "description": .string(description), "schema": schema]
    }

    static func path(_ name: String) -> JSONValue { ["name": .string(name), "in": "path", "required": true, "schema": string] }

    static func jsonBody(_ schema: JSONValue, example: JSONValue? = nil) -> JSONValue {
        var media: [String: JSONValue] = ["schema": schema]
        if let example { media["example"] = example }
        return ["required": true, "content": ["application/json": .object(media)]]
    }

    static let accessReason: JSONValue = [
        "name": "X-Access-Reason", "in": "header", "required": false, "schema": ["type": "string", "minLength": 5, "maxLength": 500],
        "description": "Why the personal data is read (5 to 500 characters); required with include=personal, recorded in the access audit",
    ]

    static let idempotencyKey: JSONValue = [
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": ["type": "string", "format": "uuid"],
        "description": "The idempotency key of this write (a retry with the same key is answered 200 with the original result)",
    ]

    /// The methods the document lists for the route `path` matches (upper case, sorted); empty
    /// when no route matches.
    static func methods(for path: String) -> [String] {
        guard let template = template(for: path), let item = document.objectValue?["paths"]?.objectValue?[template] else { return [] }
        return (item.objectValue ?? [:]).keys.map { $0.uppercased() }.sorted()
    }

    /// The documented path template a concrete path (query ignored) falls under. A template segment
    /// `{name}` matches any segment, `{name}:pause` any segment with that suffix; where several
    /// match (`{name}` and `{name}:pause`), the one with the most fixed text.
    static func template(for path: String) -> String? {
        let segments = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/", omittingEmptySubsequences: false) } ?? []
        let templates = (document.objectValue?["paths"]?.objectValue ?? [:]).keys.filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == segments.count else { return false }
            return zip(parts, segments).allSatisfy { part, segment in
                guard part.hasPrefix("{"), let close = part.firstIndex(of: "}") else { return part == segment }
                let suffix = part[part.index(after: close)...]
                return segment.count > suffix.count && segment.hasSuffix(suffix)
            }
        }
        func fixedText(_ template: String) -> Int {
            template.split(separator: "/").reduce(0) { total, part in
                guard part.hasPrefix("{"), let close = part.firstIndex(of: "}") else { return total + part.count }
                return total + part.distance(from: close, to: part.endIndex) - 1
            }
        }
        return templates.max { (fixedText($0), $1) < (fixedText($1), $0) }
    }

    static let document: JSONValue = {
        let write = ["201": response("Stored", ref("WriteResult")), "200": response("Already stored (idempotent replay)", ref("WriteResult"))]
        let id: JSONValue = ["name": "id", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]
        let paths: [String: JSONValue] = [
            "/healthz": ["get": operation("The process is up", ["200": response("Up", ref("Health"))], errors: [], auth: false)],
            "/readyz": [
                "get": operation(
                    "The database is reachable and migrations are current",
                    ["200": response("Ready", ref("Health")), "503": response("Not ready", ref("Health"))], errors: [], auth: false)
            ],
            "/metrics": [
                "get": .object(
                    (operation(
                        "Prometheus metrics; open on a loopback --host, elsewhere an admin or metrics token is needed",
                        ["200": ["description": "Prometheus text format", "content": ["text/plain": ["schema": string]]]],
                        errors: ["401", "403", "429"], auth: false
                    ).objectValue ?? [:]).merging(["security": [[:], ["bearer": []]]]) { $1 })
            ],
            "/v1/openapi.json": ["get": operation("This document", ["200": response("OpenAPI 3.1", ["type": "object"])], errors: [], auth: false)],
            "/v1/taxonomy": ["get": operation("Categories and sub-categories", ["200": response("Taxonomy", ref("Taxonomy"))], errors: [])],
            "/v1/regions": ["get": operation("Districts and municipalities", ["200": response("Regions", ref("Regions"))], errors: [])],
            "/v1/incidents": [
                "post": operation(
                    "Report an incident", write, errors: ["400", "403", "409", "413", "422"],
                    body: jsonBody(
                        ref("IncidentInput"),
                        example: [
                            "category": "return_obstacle", "subcategory": "property_occupation", "occurred_at": "2026-11-20",
                            "municipality": "Klinë", "summary": "The house of a returnee family was found occupied.", "source_type": "victim", "displaced": 4,
                        ]), parameters: [idempotencyKey]),
                "get": operation(
                    "List incidents, newest occurrence first", ["200": response("A page", ref("IncidentPage"))], errors: ["400"],
                    parameters: [
                        query("municipality", "Code or name"), query("district", "Code or name"), query("category", "Category code"),
                        query("subcategory", "Sub-category code"),
                        query(
                            "status", "reported, verified, rejected or retracted", schema: ["type": "string", "enum": ["reported", "verified", "rejected", "retracted"]]),
                        query("since", "YYYY-MM-DD", schema: date), query("until", "YYYY-MM-DD", schema: date),
                        query(
                            "q",
                            "Text in summary, place, perpetrator or target (case and diacritics ignored; a region name finds its other names), at most 200 characters",
                            schema: ["type": "string", "maxLength": .number(Double(IncidentFilter.maximumSearchLength))]),
                        query("limit", "1 to 500 (default 50)", schema: ["type": "integer", "minimum": 1, "maximum": 500]),
                        query("cursor", "next_cursor of the previous page"),
                    ]),
            ],
            "/v1/incidents:batch": [
                "post": operation(
                    "Report many incidents (NDJSON, at most 10,000 lines, 32 MiB)", ["200": response("Per-line outcome", ref("BatchResult"))],
                    errors: ["400", "403", "413"], body: ["required": true, "content": ["application/x-ndjson": ["schema": string]]])
            ],
            "/v1/incidents/{id}": [
                "get": operation(
                    "One incident, folded from its events. Its personal data only with include=personal, for admins, with an X-Access-Reason (each such read is audited)",
                    [
                        "200": response("The incident", ref("IncidentView")),
                        "400": response(
                            "Bad parameters; include=personal without X-Access-Reason (reason_required) or with one outside 5 to 500 characters (reason_invalid)",
                            ref("Error")),
                        "403": response("include=personal by a role other than admin", ref("Error")),
                        "503": response("The database is unavailable, or the read's audit record cannot be written (audit_unavailable): nothing was read", ref("Error")),
                    ],
                    errors: ["400", "403", "404"],
                    parameters: [
                        id, query("history", "true to include every event", schema: ["type": "string", "enum": ["true", "false"]]),
                        query("include", "personal: include the personal data (admins, with X-Access-Reason)", schema: ["type": "string", "enum": ["personal"]]),
                        accessReason,
                    ])
            ],
            "/v1/incidents/{id}/amendments": [
                "post": operation(
                    "Amend fields, with a reason", write, errors: ["400", "403", "404", "409", "413", "422"],
                    body: jsonBody(ref("AmendmentInput"), example: ["expected_version": 1, "changes": ["injured": 2], "reason": "hospital report"]),
                    parameters: [id, idempotencyKey])
            ],
            "/v1/incidents/{id}/verification": [
                "post": operation(
                    "Verify or reject (reviewers, admins)", write, errors: ["400", "403", "404", "409", "422"],
                    body: jsonBody(ref("DecisionInput"), example: ["expected_version": 1, "decision": "verified", "note": "confirmed by the police"]),
                    parameters: [id, idempotencyKey])
            ],
            "/v1/incidents/{id}/retraction": [
                "post": operation(
                    "Retract", write, errors: ["400", "403", "404", "409", "422"],
                    body: jsonBody(ref("RetractionInput"), example: ["expected_version": 1, "reason": "erroneous"]), parameters: [id, idempotencyKey])
            ],
            "/v1/incidents/{id}/personal-data:erase": [
                "post": operation(
                    "Erase personal data for good (admins)", write, errors: ["400", "403", "404", "409", "422"],
                    body: jsonBody(object(["reason": string], required: ["reason"])), parameters: [id])
            ],
            "/v1/incidents/{id}/narrative:redact": [
                "post": operation(
                    "Redact an incident's free text for good (admins): its narrative key is destroyed; reads show the replacement, or [redacted]",
                    write, errors: ["400", "403", "404", "409", "422"],
                    body: jsonBody(
                        object(
                            [
                                "reason": string,
                                "replacement": object(["summary": string, "place": string, "perpetrator": string, "target": string]),
                            ], required: ["reason"]), example: ["reason": "names a witness", "replacement": ["summary": "A witness was threatened."]]),
                    parameters: [id])
            ],
            "/v1/events": [
                "get": operation(
                    "The log after a checkpoint, in commit-safe order", ["200": response("A page", ref("EventPage"))], errors: ["400", "403"],
                    parameters: [
                        query("after", "An opaque checkpoint (empty: the start)"),
                        query("limit", "1 to 1000 (default 100)", schema: ["type": "integer", "minimum": 1, "maximum": 1000]),
                    ])
            ],
            "/v1/events/stream": [
                "get": operation(
                    "The log as Server-Sent Events; each id is the checkpoint after the event (resume with Last-Event-ID)",
                    ["200": ["description": "text/event-stream", "content": ["text/event-stream": ["schema": string]]]], errors: ["400", "403"],
                    parameters: [query("after", "An opaque checkpoint (empty: the start)")])
            ],
            "/v1/admin/tokens": [
                "post": operation(
                    "Create a token (shown once)", ["201": response("Created", ref("NewToken"))], errors: ["400", "403", "409", "422"],
                    body: jsonBody(
                        object(
                            [
                                "name": ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"],
                                "role": ["type": "string", "enum": .array(Role.allCases.map { .string($0.rawValue) })],
                                "expires": [
                                    "type": ["string", "null"], "pattern": "^([0-9]{1,6}[dhm]|never)$",
                                    "description": "A duration: 90d, 12h, 30m, or never; null or absent: 90d",
                                ],
                            ], required: ["name", "role"]))),
                "get": operation("List tokens (never their secrets)", ["200": response("Tokens", ref("TokenList"))], errors: ["403"]),
            ],
            "/v1/summaries": [
                "get": operation(
                    "Figures per district or municipality and category over a period (not reporters)",
                    ["200": response("Figures", ref("Summary"))], errors: ["400", "403"],
                    parameters: [
                        query("level", "district (default) or municipality", schema: ["type": "string", "enum": ["district", "municipality"]]),
                        query("since", "First day, YYYY-MM-DD", schema: date),
                        query("until", "Last day, YYYY-MM-DD (inclusive)", schema: date), query("category", "Category code"),
                    ])
            ],
            "/v1/digests/weekly": [
                "get": operation(
                    "The weekly digest (not reporters)", ["200": response("The digest", ref("WeeklyDigest"))], errors: ["400", "403"],
                    parameters: [
                        query(
                            "week", "ISO week YYYY-Www, or last (default): the last complete week in Kosovo",
                            schema: ["type": "string", "pattern": "^(last|[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3]))$"])
                    ])
            ],
            "/v1/admin/projections": [
                "get": operation("Projections: position, lag, rebuild state (admins)", ["200": response("Projections", ref("ProjectionList"))], errors: ["403"])
            ],
            "/v1/admin/projections/{name}:rebuild": [
                "post": operation(
                    "Rebuild a projection from the log into shadow tables, then swap them in (admins)",
                    ["202": response("Started", object(["projection": string, "status": string], required: ["projection", "status"]))],
                    errors: ["403", "404", "409"],
                    parameters: [
                        [
                            "name": "name", "in": "path", "required": true,
                            "schema": ["type": "string", "enum": ["incidents", "region_summary"]],
                        ]
                    ])
            ],
            "/v1/outbox-key": [
                "get": operation(
                    "The key ictl seals its offline outbox to (any role); every successful answer behind the token names the current key in the header Outbox-Key-Id",
                    ["200": response("The current key", ref("OutboxKey"))], errors: [])
            ],
            "/v1/outbox:deliver": [
                "post": operation(
                    "Deliver a write sealed in ictl's offline outbox: it is opened and run as the caller with its own idempotency key, and answered as its own route answers (400 bad_envelope or envelope_unopenable, 422 unknown_outbox_key or not_deliverable)",
                    write, errors: ["400", "403", "404", "409", "410", "413", "422"], body: jsonBody(ref("OutboxEnvelope")))
            ],
            "/v1/admin/audit": [
                "get": operation(
                    "The access audit, oldest first (admins): reads of personal data, erasures, redactions, tokens created or revoked, rebuilds, outbox deliveries with personal data",
                    ["200": response("A page", ref("AuditPage"))], errors: ["400", "403"],
                    parameters: [
                        query("since", "From this Kosovo day (YYYY-MM-DD) or RFC 3339 timestamp"),
                        query("until", "Up to this Kosovo day (inclusive, YYYY-MM-DD) or RFC 3339 timestamp"),
                        query("principal", "Only this principal (a token's name, or local:USER for commands run on the server)"),
                        query("action", "Only this action", schema: ["type": "string", "enum": .array(AccessAudit.Action.allCases.map { .string($0.rawValue) })]),
                        query("incident", "Only records about this incident", schema: ["type": "string", "format": "uuid"]),
                        query("limit", "1 to 1000 (default 100)", schema: ["type": "integer", "minimum": 1, "maximum": 1000]),
                        query("cursor", "next_cursor of the previous page"),
                    ])
            ],
            "/v1/admin/subscriptions": [
                "post": operation(
                    "Define a subscription (admins, audited); a webhook's signing secret is in the answer, once",
                    ["201": response("Created", ref("NewSubscription"))], errors: ["400", "403", "409", "422"],
                    body: jsonBody(
                        ref("SubscriptionInput"),
                        example: [
                            "name": "mitrovica-killings", "filter": ["districts": ["Mitrovicë"], "min_killed": 1],
                            "target": ["kind": "webhook", "url": "https://ops.example.org/hooks/incidents"],
                        ])),
                "get": operation("Every subscription with its state (admins)", ["200": response("Subscriptions", ref("SubscriptionList"))], errors: ["403"]),
            ],
            "/v1/admin/subscriptions/{name}": [
                "get": operation(
                    "A subscription: state, lag, last delivery, failures (admins)", ["200": response("The subscription", ref("Subscription"))],
                    errors: ["403", "404"], parameters: [path("name")]),
                "delete": operation(
                    "Delete a subscription with its checkpoint and dead letters (admins, audited)",
                    ["200": response("Deleted", object(["name": string, "deleted": boolean], required: ["name", "deleted"]))], errors: ["403", "404"],
                    parameters: [path("name")]),
            ],
            "/v1/admin/subscriptions/{name}:pause": [
                "post": operation(
                    "Stop delivering (the checkpoint stays; admins, audited)", ["200": response("Paused", ref("Subscription"))], errors: ["403", "404"],
                    parameters: [path("name")])
            ],
            "/v1/admin/subscriptions/{name}:resume": [
                "post": operation(
                    "Deliver again from the checkpoint (admins, audited)", ["200": response("Active", ref("Subscription"))], errors: ["403", "404"],
                    parameters: [path("name")])
            ],
            "/v1/admin/subscriptions/{name}/dead-letters": [
                "get": operation(
                    "The events given up after 12 failed tries, oldest first (admins)", ["200": response("Dead letters", ref("DeadLetterList"))],
                    errors: ["403", "404"], parameters: [path("name")])
            ],
            "/v1/admin/subscriptions/{name}/dead-letters/{event_id}:retry": [
                "post": operation(
                    "Send a dead letter again, before the next event (admins, audited); it leaves the dead letters once delivered",
                    ["202": response("Retrying", object(["event_id": string, "retrying": boolean], required: ["event_id", "retrying"]))],
                    errors: ["403", "404"],
                    parameters: [path("name"), ["name": "event_id", "in": "path", "required": true, "schema": ["type": "string", "format": "uuid"]]])
            ],
            "/v1/subscriptions/{name}/events": [
                "get": operation(
                    "A pull subscription's next events after its checkpoint (a token its consumers name); nothing moves until an ack",
                    ["200": response("Events", object(["events": array(ref("SubscriptionEvent")), "checkpoint": string], required: ["events", "checkpoint"]))],
                    errors: ["400", "403", "404", "409"],
                    parameters: [
                        path("name"),
                        query("wait", "Seconds to wait for an event when there is none: 0 (default) to 30", schema: ["type": "integer", "minimum": 0, "maximum": 30]),
                        query("limit", "1 to 1000 events (default 100)", schema: ["type": "integer", "minimum": 1, "maximum": 1000]),
                    ])
            ],
            "/v1/subscriptions/{name}/ack": [
                "post": operation(
                    "Move a pull subscription's checkpoint forward to what a read answered (never back)",
                    ["200": response("Acknowledged", object(["checkpoint": string], required: ["checkpoint"]))], errors: ["400", "403", "404", "409", "422"],
                    body: jsonBody(object(["checkpoint": string], required: ["checkpoint"])), parameters: [path("name")])
            ],
            "/v1/admin/tokens/{name}": [
                "delete": operation(
                    "Revoke a token", ["200": response("Revoked", object(["name": string, "revoked": boolean], required: ["name", "revoked"]))],
                    errors: ["403", "404"], parameters: [path("name")])
            ],
        ]

        let subscriptionProperties: [String: JSONValue] = [
            "name": string, "filter": ref("SubscriptionFilter"), "target": ref("SubscriptionTarget"), "consumers": array(string),
            "include_confidential": boolean, "state": ["type": "string", "enum": ["active", "paused"]],
            "checkpoint": ["type": "string", "description": "After the last event delivered or acknowledged"],
            "lag_events": ["type": "integer", "description": "Events in the log after the checkpoint, matching or not"], "delivered": integer, "dead_letters": integer,
            "last_delivery": [
                "type": ["object", "null"], "description": "The last try: event_id, at, status (the receiver's HTTP status or null), outcome, error",
            ],
            "failures": object(
                ["attempts": integer, "next_attempt_at": nullable("string"), "last_error": nullable("string")],
                required: ["attempts", "next_attempt_at", "last_error"]),
            "created_at": string, "created_by": string,
        ]
        let countFields = ["killed", "injured", "abducted", "displaced"]
        var recordProperties: [String: JSONValue] = [
            "incident_id": string, "category": string, "subcategory": string, "occurred_at": string, "date_precision": string,
            "municipality": string, "place": string, "lat": number, "lon": number, "geo_precision": integer, "summary": string,
            "perpetrator": string, "target": string, "affected_communities": array(string), "killed_low": integer, "killed_high": integer,
            "source_type": string, "source_reliability": string, "info_credibility": integer, "sensitivity": string, "tags": array(string),
            "personal": ["type": ["object", "null"], "description": "Only with include=personal (admins, audited); null when there is none or once erased"],
        ]
        for field in countFields { recordProperties[field] = integer }
        var inputProperties = recordProperties
        inputProperties["event_id"] = string
        inputProperties["personal"] = ["type": "object"]
        // An optional field given as null counts as not given.
        let requiredInput: Set<String> = ["category", "subcategory", "occurred_at", "municipality", "summary", "source_type"]
        for (name, schema) in inputProperties where !requiredInput.contains(name) {
            guard var fields = schema.objectValue, case .string(let type)? = fields["type"] else { continue }
            fields["type"] = [.string(type), "null"]
            inputProperties[name] = .object(fields)
        }
        var incident = object(
            recordProperties,
            required: [
                "incident_id", "category", "subcategory", "occurred_at", "date_precision", "municipality",
                "geo_precision", "summary", "source_type", "sensitivity",
            ] + countFields)
        incident = .object((incident.objectValue ?? [:]).merging(["additionalProperties": false]) { $1 })

        var figureProperties: [String: JSONValue] = [:]
        for field in ["incidents", "verified"] + countFields { figureProperties[field] = integer }
        let figureFields = ["incidents", "verified"] + countFields
        let figures = object(figureProperties, required: figureFields)
        var averageProperties: [String: JSONValue] = [:]
        for field in figureFields { averageProperties[field] = number }
        let averages = object(averageProperties, required: figureFields)
        func withFigures(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
            object(properties.merging(figureProperties) { a, _ in a }, required: required + figureFields)
        }

        let disclosure = object(
            [
                "threshold": [
                    "type": "integer", "description": "The fewest confidential incidents a district × ISO week × category cell must hold to count for analysts",
                ],
                "confidential": ["type": "string", "enum": ["exact", "coarsened"], "description": "exact for reviewers and admins; coarsened for analysts"],
            ], required: ["threshold", "confidential"])
        let schemas: [String: JSONValue] = [
            "Summary": object(
                [
                    "level": string, "since": nullable("string"), "until": nullable("string"), "category": nullable("string"),
                    "rows": array(withFigures(["code": string, "name": string, "category": string], required: ["code", "name", "category"])),
                    "as_of": ["type": "integer", "description": "Every committed event up to this global position is in the figures"],
                    "disclosure": disclosure,
                ], required: ["level", "since", "until", "category", "rows", "as_of", "disclosure"]),
            "WeeklyDigest": object(
                [
                    "week": string, "from": string, "to": string, "as_of": integer, "generated_at": string, "sensitivity": string,
                    "totals": figures, "previous_week": figures, "four_week_average": averages,
                    "changes": object(["vs_previous_week": figures, "vs_four_week_average": averages], required: ["vs_previous_week", "vs_four_week_average"]),
                    "by_region": array(
                        withFigures(
                            ["district": string, "district_name": string, "municipality": string, "municipality_name": string, "category": string],
                            required: ["district", "district_name", "municipality", "municipality_name", "category"])),
                    "movers": array(
                        object(
                            ["municipality": string, "name": string, "district": string, "incidents": integer, "previous_week": integer, "change": integer],
                            required: ["municipality", "name", "district", "incidents", "previous_week", "change"])),
                    "notable": array(
                        object(
                            [
                                "incident_id": string, "occurred_day": string, "municipality": string, "municipality_name": string, "category": string,
                                "subcategory": string, "status": string, "summary": string, "killed": integer, "injured": integer,
                                "abducted": integer, "displaced": integer,
                            ],
                            required: ["incident_id", "occurred_day", "municipality", "category", "subcategory", "status", "summary"] + countFields)),
                    "revisions": array(
                        object(
                            [
                                "incident_id": string, "change": ["type": "string", "enum": ["amended", "verified", "rejected", "retracted"]],
                                "recorded_at": string, "occurred_day": string, "municipality": string, "category": string,
                                "fields": array(string), "reason": string,
                            ],
                            required: ["incident_id", "change", "recorded_at", "occurred_day", "municipality", "category"])),
                    "trend": array(
                        object(
                            ["week": string, "from": string, "incidents": integer, "killed": integer, "injured": integer],
                            required: ["week", "from", "incidents", "killed", "injured"])),
                    "disclosure": disclosure,
                ],
                required: [
                    "week", "from", "to", "as_of", "totals", "previous_week", "four_week_average", "by_region", "movers", "notable", "revisions", "trend", "disclosure",
                ]),
            "ProjectionList": object(
                [
                    "projections": array(
                        object(
                            [
                                "name": string, "checkpoint": string, "as_of": integer, "lag": integer, "rebuilding": boolean,
                                "rebuild_position": nullable("integer"), "rebuilt_at": nullable("string"),
                            ], required: ["name", "checkpoint", "as_of", "lag", "rebuilding", "rebuild_position", "rebuilt_at"]))
                ], required: ["projections"]),
            "Error": object(["error": object(["code": string, "message": string, "details": ["type": "object"]], required: ["code", "message"])], required: ["error"]),
            "Health": object(["status": string, "pending": integer], required: ["status"]),
            "WriteResult": object(
                ["incident_id": string, "event_id": string, "stream_version": integer, "global_position": integer, "recorded_at": string],
                required: ["incident_id", "event_id", "stream_version", "global_position", "recorded_at"]),
            "IncidentInput": object(inputProperties, required: requiredInput.sorted()),
            "Incident": incident,
            "IncidentView": object(
                [
                    "incident": ref("Incident"), "version": integer, "status": string, "reported_at": string, "updated_at": string,
                    "reported_by": string, "personal_data_erased": boolean, "events": array(ref("Event")),
                ],
                required: ["incident", "version", "status", "reported_at", "updated_at"]),
            "IncidentPage": object(["items": array(ref("IncidentView")), "next_cursor": nullable("string")], required: ["items", "next_cursor"]),
            "AmendmentInput": object(
                ["expected_version": integer, "changes": ["type": "object"], "reason": string], required: ["expected_version", "changes", "reason"]),
            "DecisionInput": object(
                ["expected_version": integer, "decision": ["type": "string", "enum": ["verified", "rejected"]], "note": string],
                required: ["expected_version", "decision", "note"]),
            "RetractionInput": object(
                ["expected_version": integer, "reason": ["type": "string", "enum": ["duplicate", "erroneous", "out_of_scope"]], "duplicate_of": string],
                required: ["expected_version", "reason"]),
            "Event": object(
                [
                    "event_id": string, "stream": string, "stream_version": integer, "global_position": integer, "type": string,
                    "schema_version": integer, "data": ["type": "object"], "metadata": ["type": "object"], "recorded_at": string,
                ],
                required: ["event_id", "stream", "stream_version", "global_position", "type", "schema_version", "data", "metadata", "recorded_at"]),
            "EventPage": object(["events": array(ref("Event")), "checkpoint": string], required: ["events", "checkpoint"]),
            "BatchResult": object(
                ["accepted": integer, "replayed": integer, "rejected": array(object(["line": integer, "error": ["type": "object"]], required: ["line", "error"]))],
                required: ["accepted", "replayed", "rejected"]),
            "Taxonomy": object(
                [
                    "categories": array(
                        object(
                            [
                                "code": string, "label": string,
                                "subcategories": array(
                                    object(
                                        ["code": string, "label": string, "forced_sensitivity": string], required: ["code", "label"])),
                            ], required: ["code", "label", "subcategories"]))
                ],
                required: ["categories"]),
            "Regions": object(
                [
                    "districts": array(
                        object(
                            [
                                "code": string, "name": string, "name_sq": string, "name_sr": string,
                                "municipalities": array(
                                    object(
                                        [
                                            "code": string, "name": string, "name_sq": string, "name_sr": string, "aliases": array(string), "seat_lat": number,
                                            "seat_lon": number,
                                        ],
                                        required: ["code", "name", "name_sq", "name_sr", "aliases", "seat_lat", "seat_lon"])),
                            ], required: ["code", "name", "municipalities"]))
                ],
                required: ["districts"]),
            "OutboxKey": object(
                ["key_id": string, "public_key": ["type": "string", "contentEncoding": "base64", "description": "X25519, 32 bytes"], "suite": string],
                required: ["key_id", "public_key", "suite"]),
            "OutboxEnvelope": .object(
                (object(
                    [
                        "version": ["type": "integer", "enum": [1]], "suite": ["type": "string", "enum": [.string(OutboxEnvelope.suite)]],
                        "key_id": ["type": "string", "pattern": "^[0-9a-f]{16}$"],
                        "encapsulated_key": ["type": "string", "contentEncoding": "base64", "description": "HPKE encapsulated key (32 bytes)"],
                        "ciphertext": ["type": "string", "contentEncoding": "base64", "description": "HPKE ciphertext of {method, path, idempotency_key, body}"],
                    ], required: ["version", "suite", "key_id", "encapsulated_key", "ciphertext"]
                ).objectValue ?? [:]).merging(["additionalProperties": false]) { $1 }),
            "AuditPage": object(["items": array(ref("AuditRecord")), "next_cursor": nullable("string")], required: ["items", "next_cursor"]),
            "AuditRecord": object(
                [
                    "id": integer, "at": string, "principal": string, "role": string,
                    "action": ["type": "string", "enum": .array(AccessAudit.Action.allCases.map { .string($0.rawValue) })],
                    "incident_id": nullable("string"), "target": ["type": ["string", "null"], "description": "A token's or projection's name"],
                    "reason": ["type": ["string", "null"], "description": "The X-Access-Reason of a read of personal data"],
                    "request_id": nullable("string"), "client_address": nullable("string"),
                ], required: ["id", "at", "principal", "role", "action", "incident_id", "target", "reason", "request_id", "client_address"]),
            "SubscriptionFilter": object(
                [
                    "categories": array(string), "subcategories": array(string),
                    "municipalities": ["type": "array", "items": string, "description": "Codes or names; stored as codes"],
                    "districts": ["type": "array", "items": string, "description": "Codes or names; stored as codes"],
                    "event_types": ["type": "array", "items": string, "description": "Log event types; empty or absent: all"],
                    "min_killed": nullable("integer"), "min_casualties": ["type": ["integer", "null"], "description": "Killed and injured together"],
                    "statuses": array(["type": "string", "enum": ["reported", "verified", "rejected", "retracted"]]),
                ]),
            "SubscriptionTarget": object(
                ["kind": ["type": "string", "enum": ["webhook", "pull"]], "url": ["type": "string", "description": "https:// (webhooks only)"]],
                required: ["kind"]),
            "SubscriptionInput": object(
                [
                    "name": ["type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,62}$"], "filter": ref("SubscriptionFilter"), "target": ref("SubscriptionTarget"),
                    "start": ["type": "string", "description": "now (default), beginning, or a checkpoint"],
                    "consumers": ["type": "array", "items": string, "description": "Names of the tokens that may read a pull subscription"],
                    "include_confidential": ["type": "boolean", "description": "Deliver confidential incidents, as an admin reads them (default false)"],
                ], required: ["name", "target"]),
            "Subscription": object(
                subscriptionProperties, required: subscriptionProperties.keys.sorted()),
            "NewSubscription": object(
                subscriptionProperties.merging(["secret": ["type": "string", "description": "whsec_ and the base64 signing key; webhooks only, shown once"]]) { $1 },
                required: subscriptionProperties.keys.sorted()),
            "SubscriptionList": object(["subscriptions": array(ref("Subscription"))], required: ["subscriptions"]),
            "DeadLetterList": object(
                [
                    "dead_letters": array(
                        object(
                            [
                                "event_id": string, "global_position": integer, "attempts": integer, "last_error": nullable("string"), "dead_at": string,
                                "retrying": boolean, "next_attempt_at": nullable("string"),
                            ], required: ["event_id", "global_position", "attempts", "last_error", "dead_at", "retrying", "next_attempt_at"]))
                ], required: ["dead_letters"]),
            "SubscriptionEvent": object(
                [
                    "event_id": string, "type": string, "incident_id": string, "stream_version": integer, "recorded_at": string, "checkpoint": string,
                    "incident": [
                        "type": "object", "description": "The incident just after the event, as an analyst reads it (an admin with include_confidential); never personal",
                    ],
                ], required: ["event_id", "type", "incident_id", "stream_version", "recorded_at", "checkpoint", "incident"]),
            "NewToken": object(["name": string, "role": string, "token": string, "expires_at": nullable("string")], required: ["name", "role", "token", "expires_at"]),
            "TokenList": object(
                [
                    "tokens": array(
                        object(
                            ["name": string, "role": string, "created_at": string, "expires_at": nullable("string"), "revoked_at": nullable("string")],
                            required: ["name", "role", "created_at", "expires_at", "revoked_at"]))
                ], required: ["tokens"]),
        ]
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Incident Log API", "version": "1.0.0",
                "description": "Append-only incident log for field operations in Kosovo. Errors are always {\"error\": {code, message, details}}.",
            ],
            "servers": [["url": "http://127.0.0.1:8080"]],
            "security": [["bearer": []]],
            "paths": .object(paths),
            "components": ["schemas": .object(schemas), "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]]],
        ]
    }()
}

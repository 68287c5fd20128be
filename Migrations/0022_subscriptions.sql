-- Subscriptions (docs/subscriptions.md): other systems follow the log, filtered, by webhook or
-- by pulling. Each has one place in the log (checkpoint_*, commit-safe order as every reader),
-- moved only after the event there was delivered, acknowledged or dead-lettered. A webhook's
-- signing secret is kept wrapped by the master key (key purpose "webhook", subject its name).
CREATE TABLE subscriptions (
    name                   text        PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    filter                 jsonb       NOT NULL,
    target_kind            text        NOT NULL CHECK (target_kind IN ('webhook', 'pull')),
    target_url             text        CHECK ((target_kind = 'webhook') = (target_url IS NOT NULL)),
    secret_master_key_id   text        CHECK ((target_kind = 'webhook') = (secret_master_key_id IS NOT NULL)),
    secret_wrapped         bytea       CHECK ((target_kind = 'webhook') = (secret_wrapped IS NOT NULL)),
    consumers              text[]      NOT NULL DEFAULT '{}',
    include_confidential   boolean     NOT NULL DEFAULT false,
    paused                 boolean     NOT NULL DEFAULT false,
    checkpoint_transaction xid8        NOT NULL,
    checkpoint_position    bigint      NOT NULL,
    -- The event at the head: failed tries so far, and when the next may go.
    attempts               integer     NOT NULL DEFAULT 0,
    next_attempt_at        timestamptz,
    last_error             text,
    delivered              bigint      NOT NULL DEFAULT 0,
    last_delivery          jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    created_by             text        NOT NULL
);

-- Events a webhook refused 12 times. Delivery went on past them; a retry sends one again (its
-- tries counted afresh), and its row goes once it is delivered.
CREATE TABLE subscription_dead_letters (
    subscription    text        NOT NULL REFERENCES subscriptions (name) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    global_position bigint      NOT NULL,
    attempts        integer     NOT NULL,
    last_error      text,
    dead_at         timestamptz NOT NULL DEFAULT now(),
    retrying        boolean     NOT NULL DEFAULT false,
    next_attempt_at timestamptz,
    PRIMARY KEY (subscription, event_id)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON subscriptions, subscription_dead_letters TO incident_app;

-- Issue #17: hand-off to the organiser's other tools. Each connected Page may have a few hooks:
-- addresses the product POSTs JSON events to (entry confirmed, keyword tapped, opted out,
-- winner claimed), signed with the hook's own secret. Owned by `app/src/handoff/`.
CREATE TABLE page_hooks (
    id                 TEXT PRIMARY KEY,
    page_id            TEXT NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    -- https (plain http only for localhost in development), at most 2,000 characters.
    url                TEXT NOT NULL,
    -- The signing secret, encrypted like Page tokens (`secrets::TokenCipher`, the hook's id as
    -- associated data). The admin sees it once, when the hook is made or its secret rotated.
    secret_sealed      TEXT NOT NULL,
    -- The event types it gets, comma-separated (`entry.confirmed,keyword.tapped`), or `*`.
    events             TEXT NOT NULL,
    enabled            BIGINT NOT NULL DEFAULT 1,
    created_at         BIGINT NOT NULL
);
CREATE INDEX page_hooks_page ON page_hooks (page_id);

-- One event for one hook, and its fate: queued (to be sent at next_attempt_at, also the lease
-- of the instance sending it), delivered, or failed (a refusal, or the tries ran out).
CREATE TABLE hook_deliveries (
    id                 TEXT PRIMARY KEY,
    hook_id            TEXT NOT NULL REFERENCES page_hooks(id) ON DELETE CASCADE,
    -- The event's id (a UUID, the same for every hook it goes to): in the body and the
    -- `X-Giveaway-Delivery` header, so a receiver can drop a repeat.
    event_id           TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    -- What makes one event once per hook however often its webhook is processed
    -- (`entry.confirmed:{entry}`...).
    dedupe_key         TEXT NOT NULL,
    -- The exact body sent (JSON). Emptied after RETENTION_DAYS once settled, and when the
    -- person it names asks to be forgotten.
    payload            TEXT NOT NULL,
    -- The person the event is about, on the hook's Page, for erasure; emptied with the payload.
    psid               TEXT,
    status             TEXT NOT NULL DEFAULT 'queued',
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at    BIGINT NOT NULL,
    last_status_code   BIGINT,
    last_error         TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    delivered_at       BIGINT,
    UNIQUE (hook_id, dedupe_key)
);
CREATE INDEX hook_deliveries_due ON hook_deliveries (status, next_attempt_at);
CREATE INDEX hook_deliveries_log ON hook_deliveries (hook_id, created_at);
CREATE INDEX hook_deliveries_psid ON hook_deliveries (psid);

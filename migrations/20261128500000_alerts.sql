-- Issue #18: alerts before things go wrong. One row per thing that is (or was) wrong, by a key
-- naming what and where (`token:<page row id>`, `reach:<campaign id>`...): raised by the health
-- checks, cleared by them once fixed, told to ALERT_WEBHOOK_URL once per raising.
CREATE TABLE alerts (
    key              TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    page_id          TEXT REFERENCES pages(id) ON DELETE CASCADE,
    campaign_id      TEXT REFERENCES campaigns(id) ON DELETE CASCADE,
    message          TEXT NOT NULL,
    raised_at        BIGINT NOT NULL,
    cleared_at       BIGINT,
    -- none | due | sent | failed
    notify_state     TEXT NOT NULL DEFAULT 'none',
    notify_at        BIGINT,
    notify_attempts  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_open ON alerts (cleared_at, raised_at);
CREATE INDEX alerts_due ON alerts (notify_state, notify_at);

-- Which instance runs the checks: one at a time in a cluster, by a lease renewed each round.
CREATE TABLE alert_lease (
    id        BIGINT PRIMARY KEY,
    holder    TEXT,
    until_ms  BIGINT NOT NULL
);
INSERT INTO alert_lease (id, holder, until_ms) VALUES (1, NULL, 0);

-- The last webhook of a Page, asked by the checks.
CREATE INDEX webhook_events_page ON webhook_events (page_id, received_at);

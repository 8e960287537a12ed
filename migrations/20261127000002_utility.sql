-- Notices outside the 24-hour window (issue #13): the utility permission is optional, so each
-- Page records whether Meta let us subscribe to template reviews (the sign that the connecting
-- admin's token carries pages_utility_messaging), and the template's creation is retried with
-- a backoff instead of every 30 seconds.

-- 1 once subscribed_apps accepted message_template_status_update for this Page.
ALTER TABLE pages ADD COLUMN utility_permission BIGINT NOT NULL DEFAULT 0;
-- What Messenger's profile showed at the last check (ice breakers hide Get Started); NULL: fine.
ALTER TABLE pages ADD COLUMN get_started_warning TEXT;

-- page_templates.status also holds ERROR (our own word: Meta refused the creation call; `reason`
-- keeps Meta's message). `attempts` counts creation tries since the last success, `next_try_at`
-- is when the template is asked for or looked at again.
ALTER TABLE page_templates ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE page_templates ADD COLUMN next_try_at BIGINT;

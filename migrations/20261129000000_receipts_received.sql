-- Delivery and read receipts are applied when they arrive and not kept (app/src/messenger/intake.rs):
-- when the Page's last one came, so that a Page whose webhooks still arrive is not taken for
-- silent (app/src/alerts/checks.rs).
ALTER TABLE pages ADD COLUMN receipts_received_at BIGINT;

-- The Page sender's queue (issue #19). It takes the oldest due messages of its Page, ordered by
-- (created_at, id): the old index (page_id, status, next_attempt_at) found them but not in that
-- order, so every claim of 64 sorted all of the Page's queued messages (16 ms a claim at 30,000,
-- a quarter of the database's time per message). Partial indexes hold only the messages waiting
-- or under way, so a message leaves them once sent and its later steps (delivered, read) no
-- longer move an entry of the queue's index.
DROP INDEX outgoing_messages_queue;
CREATE INDEX outgoing_messages_queued ON outgoing_messages (page_id, created_at, id)
    WHERE status = 'queued';
CREATE INDEX outgoing_messages_sending ON outgoing_messages (page_id)
    WHERE status = 'sending';

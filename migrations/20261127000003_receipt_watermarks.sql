-- Meta's receipts are kept on the person as watermarks (the latest delivery and read times Meta
-- reported), so a receipt that overtakes our own record of a send (Meta may deliver before the
-- Send API's answer is stored) still marks the message when its send is recorded.
ALTER TABLE subscribers ADD COLUMN delivered_watermark BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscribers ADD COLUMN read_watermark BIGINT NOT NULL DEFAULT 0;

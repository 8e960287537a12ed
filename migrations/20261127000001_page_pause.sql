-- Why a Page's sends are paused, beside the reason in words (pages.paused_reason):
--   'token': the Page token stopped working (190); reconnecting the Page resumes it.
--   'page':  Meta refuses every send of the Page for a reason of the Page or the app (policy
--            block 368, a missing permission, access level or verification: 1, 99, 10, 200,
--            230); the token is fine, and a health check must not clear it. The admin resumes
--            it once fixed (or reconnects the Page).
-- NULL with a reason: a pause from before this column, always a token one.
ALTER TABLE pages ADD COLUMN paused_kind TEXT;

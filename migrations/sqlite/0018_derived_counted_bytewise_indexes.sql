-- PostgreSQL's bookkeeping indexes became bytewise (`COLLATE "C"`) in this migration. SQLite
-- compares text bytewise already (its BINARY collation), so nothing changes here; the file
-- keeps both engines' migrations numbered alike.
SELECT 1;

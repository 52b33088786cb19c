-- qonversion-etl schema, version 7: structures that keep the trend views fast (issue 15).
-- Placeholder: nothing yet.
CREATE TABLE qetl_placeholder_007 (x integer);
DROP TABLE qetl_placeholder_007;

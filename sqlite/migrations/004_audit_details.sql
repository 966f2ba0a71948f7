-- What an audited action recorded beyond the request, as JSON ('' for none):
-- a forget lists what may remain on the node.
ALTER TABLE audit_log ADD COLUMN details TEXT NOT NULL DEFAULT '';

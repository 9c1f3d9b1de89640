-- Namespaces (as SQLite 003): a definition id belongs to one namespace; an instance lives in its
-- definition's namespace. Lists filter by it. Rows written before this migration are in `default`.
ALTER TABLE definitions ADD COLUMN namespace text NOT NULL DEFAULT 'default';
UPDATE instances SET namespace = 'default' WHERE namespace IS NULL;
CREATE INDEX instances_namespace ON instances (namespace, id);

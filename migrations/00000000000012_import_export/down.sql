DELETE FROM exports WHERE kind <> 'agendas_pdf' OR event_id IS NULL;
ALTER TABLE exports DROP COLUMN options;
ALTER TABLE exports DROP CONSTRAINT exports_kind_check;
ALTER TABLE exports ADD CONSTRAINT exports_kind_check CHECK (kind IN ('agendas_pdf'));
ALTER TABLE exports ALTER COLUMN event_id SET NOT NULL;
DROP TABLE IF EXISTS import_problems;
DROP TABLE IF EXISTS imports;

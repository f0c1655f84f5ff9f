-- The catalogue's version: every write to prefectures, materials, processes or certifications bumps it, in the
-- writing transaction. Each server process holds the catalogue in memory and re-reads it when this number moved
-- (server/catalogue/taxonomy.py), so a change made by any process, or by hand in psql, reaches all of them.
CREATE TABLE catalogue_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
);
INSERT INTO catalogue_version (singleton, version) VALUES (true, 1);

CREATE FUNCTION catalogue_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalogue_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER prefectures_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON prefectures
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_bump_version();
CREATE TRIGGER materials_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON materials
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_bump_version();
CREATE TRIGGER processes_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON processes
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_bump_version();
CREATE TRIGGER certifications_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON certifications
    FOR EACH STATEMENT EXECUTE FUNCTION catalogue_bump_version();

-- The registry's generation: a counter that every committed write to the tables the response cache serves
-- from (server/cache/) moves forward, announced on the channel `machikoba_registry` when it commits.
-- Each server process LISTENs and drops its cached answers on a notification; a request reads the counter
-- before it is answered from the cache, so a caller never gets an answer older than its own last write,
-- even when that write went through another process whose notification has not arrived yet.
CREATE TABLE registry_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value bigint NOT NULL
);
INSERT INTO registry_generation (only_row, value) VALUES (true, 0);

-- Once per transaction: the first row change bumps the counter and queues the notification (NOTIFY is
-- delivered on commit only), later ones see the transaction-local flag and return. The row triggers are
-- deferred to commit, so the counter's row is locked only while the transaction commits, after every other
-- lock it takes: writers to the registry never wait on each other for long, and never deadlock on it.
CREATE FUNCTION registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    generation bigint;
BEGIN
    IF current_setting('machikoba.registry_changed', true) IS DISTINCT FROM '1' THEN
        UPDATE registry_generation SET value = value + 1 RETURNING value INTO generation;
        PERFORM pg_notify('machikoba_registry', generation::text);
        PERFORM set_config('machikoba.registry_changed', '1', true);
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'prefectures', 'materials', 'processes', 'certifications',
        'factories', 'factory_certifications', 'capabilities', 'capacity_weeks'
    ] LOOP
        EXECUTE format(
            'CREATE CONSTRAINT TRIGGER %1$s_registry_changed AFTER INSERT OR UPDATE OR DELETE ON %1$I '
            'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION registry_changed()', t);
        EXECUTE format(
            'CREATE TRIGGER %1$s_registry_truncated AFTER TRUNCATE ON %1$I '
            'FOR EACH STATEMENT EXECUTE FUNCTION registry_changed()', t);
    END LOOP;
END
$$;

-- Hand a database and everything in it to one role (psql variable :owner; run as a superuser, connected to that
-- database). Per object, because REASSIGN OWNED refuses to move what the bootstrap superuser owns. Skipped: system
-- schemas, extension members (they belong to their extension), sequences owned by a column (ALTER TABLE moves
-- them with their table), array types (they follow their element type). Prints how many objects moved.
SELECT set_config('n8n_ops.owner', :'owner', false) AS owner_set \gset
DO $$
DECLARE
  target name := current_setting('n8n_ops.owner');
  target_oid oid;
  moved integer := 0;
  r record;
BEGIN
  SELECT oid INTO target_oid FROM pg_roles WHERE rolname = target;
  IF target_oid IS NULL THEN
    RAISE EXCEPTION 'role % does not exist', target;
  END IF;
  IF (SELECT datdba FROM pg_database WHERE datname = current_database()) <> target_oid THEN
    EXECUTE format('ALTER DATABASE %I OWNER TO %I', current_database(), target);
    moved := moved + 1;
  END IF;
  FOR r IN
    SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, target) AS stmt
      FROM pg_namespace n
     WHERE n.nspowner <> target_oid AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER %s %s OWNER TO %I',
                  CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  c.oid::regclass, target)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> target_oid
       AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, target)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proowner <> target_oid AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, target)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typowner <> target_oid AND t.typtype IN ('e', 'd', 'r', 'm')
       AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE r.stmt;
    moved := moved + 1;
  END LOOP;
  PERFORM set_config('n8n_ops.moved', moved::text, false);
END
$$;
SELECT 'moved ' || current_setting('n8n_ops.moved');

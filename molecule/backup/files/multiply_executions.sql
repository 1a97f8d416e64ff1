-- Load the database like a busy n8n: copy the executions of workflow rt.workflow (entity + data) rt.copies times.
DO $$
DECLARE
  src record;
  new_id integer;
  entity_cols text;
  data_cols text;
  i integer;
BEGIN
  SELECT string_agg(quote_ident(column_name), ', ') INTO entity_cols FROM information_schema.columns
   WHERE table_schema = 'public' AND table_name = 'execution_entity' AND column_name <> 'id';
  SELECT string_agg(quote_ident(column_name), ', ') INTO data_cols FROM information_schema.columns
   WHERE table_schema = 'public' AND table_name = 'execution_data' AND column_name <> 'executionId';
  FOR src IN SELECT id FROM execution_entity WHERE "workflowId" = current_setting('rt.workflow') ORDER BY id LOOP
    FOR i IN 1..current_setting('rt.copies')::int LOOP
      EXECUTE format('INSERT INTO execution_entity (%s) SELECT %s FROM execution_entity WHERE id = $1 RETURNING id',
                     entity_cols, entity_cols) INTO new_id USING src.id;
      EXECUTE format('INSERT INTO execution_data ("executionId", %s) SELECT $1, %s FROM execution_data WHERE "executionId" = $2',
                     data_cols, data_cols) USING new_id, src.id;
    END LOOP;
  END LOOP;
END $$;

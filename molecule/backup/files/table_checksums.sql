-- One row per table of the public schema: name, row count, md5 over the sorted md5 of every row
-- (hashing rows first keeps memory small on big tables).
SELECT tablename,
       (xpath('/row/c/text()', query_to_xml(format(
          'SELECT count(*) || '' '' || coalesce(md5(string_agg(md5(r::text), '''' ORDER BY md5(r::text))), ''-'') AS c FROM %I r',
          tablename), false, true, '')))[1]::text AS checksum
  FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;

-- One row per table of the public schema: name, row count, md5 of all rows in a stable order.
SELECT tablename,
       (xpath('/row/c/text()', query_to_xml(format(
          'SELECT count(*) || '' '' || coalesce(md5(string_agg(r::text, ''|'' ORDER BY r::text)), ''-'') AS c FROM %I r',
          tablename), false, true, '')))[1]::text AS checksum
  FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename;

-- One n8n execution's life, as a pgbench transaction: enqueue (insert with its workflow), store the run data
-- (multi-KB JSON), mark it finished, read it back by id (the editor), list the workflow's recent executions (the
-- executions page); 2 % of transactions prune a batch of the oldest executions, as EXECUTIONS_DATA_PRUNE does.
\set wf random(0, 39)
\set items random(20, 400)
\set prune random(1, 100)
BEGIN;
INSERT INTO execution_entity (finished, mode, status, "workflowId", "startedAt", "createdAt")
  VALUES (false, 'webhook', 'running', 'wf' || :wf, now(), now()) RETURNING id AS exec_id \gset
INSERT INTO execution_data ("executionId", "workflowData", data)
  SELECT :exec_id, json_build_object('id', 'wf' || :wf, 'nodes', json_build_array()),
         string_agg('{"json":{"id":' || i || ',"email":"' || md5(random()::text) || '@example.com","amount":'
                    || (random() * 1000)::int || ',"status":"ok"}}', ',')
  FROM generate_series(1, :items) i;
UPDATE execution_entity SET finished = true, status = 'success', "stoppedAt" = now() WHERE id = :exec_id;
COMMIT;
SELECT e.id, e.status, d.data FROM execution_entity e JOIN execution_data d ON d."executionId" = e.id
  WHERE e.id = :exec_id;
SELECT id, status, "startedAt", "stoppedAt" FROM execution_entity
  WHERE "workflowId" = 'wf' || :wf AND "deletedAt" IS NULL ORDER BY id DESC LIMIT 20;
\if :prune <= 2
DELETE FROM execution_entity WHERE id IN (SELECT id FROM execution_entity ORDER BY id LIMIT 50);
\endif

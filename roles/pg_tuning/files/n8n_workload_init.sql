-- Tables shaped like n8n 2.41's execution_entity / execution_data (columns and indexes as its migrations create
-- them, read from a deployed n8n), in the pgbench scratch database, with 40 workflows' worth of history:
-- :history executions (psql variable, default 20000).
\if :{?history}
\else
\set history 20000
\endif
CREATE TABLE execution_entity (
  id serial PRIMARY KEY, finished boolean NOT NULL, mode varchar NOT NULL, "retryOf" varchar,
  "retrySuccessId" varchar, "startedAt" timestamptz(3), "stoppedAt" timestamptz(3), "waitTill" timestamptz(3),
  status varchar NOT NULL, "workflowId" varchar(36) NOT NULL, "deletedAt" timestamptz(3),
  "createdAt" timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "storedAt" varchar(2) NOT NULL DEFAULT 'db',
  "jsonSizeBytes" bigint NOT NULL DEFAULT 0, "binaryDataSizeBytes" bigint NOT NULL DEFAULT 0);
CREATE INDEX "IDX_execution_entity_deletedAt" ON execution_entity ("deletedAt");
CREATE INDEX "IDX_execution_entity_workflowId_status_id" ON execution_entity ("workflowId", status, id)
  WHERE "deletedAt" IS NULL;
CREATE INDEX idx_execution_entity_stopped_at_status_deleted_at ON execution_entity ("stoppedAt", status, "deletedAt")
  WHERE "stoppedAt" IS NOT NULL AND "deletedAt" IS NULL;
CREATE INDEX idx_execution_entity_workflow_id_started_at ON execution_entity ("workflowId", "startedAt")
  WHERE "startedAt" IS NOT NULL AND "deletedAt" IS NULL;
CREATE TABLE execution_data (
  "executionId" integer PRIMARY KEY REFERENCES execution_entity (id) ON DELETE CASCADE,
  "workflowData" json NOT NULL, data text NOT NULL);

-- History: 20,000 (:history) executions of 2-40 KB of run data (JSON-like text: keys repeat, values vary).
INSERT INTO execution_entity (finished, mode, status, "workflowId", "startedAt", "stoppedAt", "createdAt")
SELECT true, 'webhook', CASE WHEN g % 10 = 0 THEN 'error' ELSE 'success' END, 'wf' || (g % 40),
       now() - (:history - g) * interval '1 minute', now() - (:history - g) * interval '1 minute' + interval '2 s',
       now() - (:history - g) * interval '1 minute'
FROM generate_series(1, :history) g;
INSERT INTO execution_data ("executionId", "workflowData", data)
SELECT id, json_build_object('id', "workflowId", 'name', 'Workflow ' || "workflowId", 'nodes', json_build_array()),
       (SELECT string_agg('{"json":{"id":' || i || ',"email":"' || md5(random()::text) || '@example.com","amount":'
                          || (random() * 1000)::int || ',"status":"ok"}}', ',')
        FROM generate_series(1, 20 + (id % 20) * 20 + (id * 0)) i)
FROM execution_entity;
ANALYZE;

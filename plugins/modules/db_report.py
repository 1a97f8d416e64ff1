#!/usr/bin/python
# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: db_report
short_description: A PgHero-class report on the n8n stack's PostgreSQL - slow statements, indexes, bloat, regressions
version_added: 0.3.0
author: n8n_ops maintainers (!UNKNOWN)
description:
  - Runs C(psql) inside the running PostgreSQL container (C(docker exec), over its local socket, as the
    container's C(POSTGRES_USER) in C(POSTGRES_DB); no password is needed or printed) and reads, read-only, the
    top statements of C(pg_stat_statements) by total and by mean time, the table and index cache hit ratios, the
    tables mostly read by sequential scans, every index with its columns, scans, size and validity, the heap size,
    row width and dead tuples of n8n's execution tables, and the pgvector indexes.
  - "It reports: missing index candidates (tables dominated by sequential scans, with the columns the statements
    compare on them in C(WHERE) and C(JOIN ... ON), minus those that already lead an index); unused, invalid and
    duplicate (same or prefix columns) indexes; the bloat estimate of C(execution_entity), C(execution_data),
    C(execution_metadata) and C(execution_annotations); EXPLAIN (ANALYZE, BUFFERS) plans of the given statements;
    and, against an earlier report, the statements whose mean time regressed, cache hit ratios below target and
    tables newly read by sequential scans."
  - The rules and thresholds are pure functions (C(module_utils/db_report.py)); every query returns one JSON
    document and takes its parameters as psql variables.
  - When C(pg_stat_statements) is preloaded but the extension is not created in the database, it is created
    (the only change besides O(reset_stats)). When it is not preloaded, every other section is still reported,
    with a notice that it needs C(shared_preload_libraries = 'pg_stat_statements') and a PostgreSQL restart.
extends_documentation_fragment:
  - n8n_ops.stack.container
options:
  top:
    description: How many statements (by total and by mean time) and tables the report lists.
    type: int
    default: 10
  output_dir:
    description:
      - Write C(db-report.md) and C(db-report.json) here, each atomically (a partial file, fsynced, renamed).
        The directory is created when missing. Empty - no files.
    type: path
    default: ""
  baseline:
    description:
      - An earlier C(db-report.json) to compare with; its regressions are in RV(regressions) and in the report.
        A missing or unreadable file fails the task.
    type: path
    default: ""
  save_baseline:
    description:
      - Write this report's JSON here (atomically), to be the O(baseline) of a later run; its directory is created
        when missing. Empty - none.
    type: path
    default: ""
  explain:
    description:
      - Statements to show the plan of, each run as C(EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)) inside
        C(BEGIN READ ONLY) ... C(ROLLBACK) with a 5 minute statement timeout.
      - EXPLAIN ANALYZE executes the statement, so only one C(SELECT) or C(WITH ... SELECT) statement each is
        accepted; anything else (a second statement, C(INSERT), C(UPDATE), C(DELETE), C(SELECT INTO), a psql
        backslash command) is refused before anything runs.
    type: list
    elements: str
    default: []
  thresholds:
    description:
      - Overrides of the thresholds (names as in C(module_utils/db_report.py) C(THRESHOLDS)), for example
        C(mean_time_pct), C(mean_time_floor_ms), C(min_calls), C(table_hit_min), C(index_hit_min),
        C(missing_index_min_rows), C(missing_index_seq_share). Unknown names are refused.
    type: dict
    default: {}
  reset_stats:
    description: Reset C(pg_stat_statements) (all databases) after reading it, so the next report covers a fresh period.
    type: bool
    default: false
  fail_on_regression:
    description:
      - Fail the task when the report regressed against the O(baseline) (the files are written first).
      - Defaults to V(true) when a baseline is given.
    type: bool
notes:
  - Supports check mode - it only reads (the EXPLAINs run, in read-only transactions); no extension is created,
    no statistics reset and no file written; C(changed) says whether they would be.
  - Needs PostgreSQL 13 or later (C(pg_stat_statements) with C(total_exec_time)).
  - Writing the report files does not count as a change.
seealso:
  - module: n8n_ops.stack.stack_health
'''

EXAMPLES = r'''
- name: Report on n8n's database, compared with last week's
  n8n_ops.stack.db_report:
    container: n8n-postgres-1
    output_dir: /opt/n8n/db-report
    baseline: /opt/n8n/db-report/baseline.json
    explain:
      - SELECT id FROM execution_entity WHERE "workflowId" = '42' AND "deletedAt" IS NULL
  register: db

- name: Take a new baseline and start a fresh period
  n8n_ops.stack.db_report:
    container: n8n-postgres-1
    save_baseline: /opt/n8n/db-report/baseline.json
    reset_stats: true
    thresholds:
      mean_time_pct: 30
'''

RETURN = r'''
report:
  description:
    - The report - C(top_by_total_time), C(top_by_mean_time) (n8n's statements), C(own_tooling_statements) (this
      collection's own, apart), C(cache), C(tables), C(missing_index_candidates), C(unused_indexes),
      C(invalid_indexes), C(duplicate_indexes), C(bloat), C(pgvector), C(explain), C(regressions), C(notices),
      C(pg_stat_statements), C(thresholds) and the server's identity.
    - What C(db-report.json) and O(save_baseline) hold.
  returned: when the database could be read
  type: dict
regressions:
  description: Each regression against the baseline with C(kind) (statement, cache, seq_scan), C(name) and C(message).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "statement", "name": "-4271", "message": "mean time 0.31 ms -> 14.20 ms (+4481 %, 50 calls): ..."}]
markdown:
  description: The report as Markdown (what C(db-report.md) holds).
  returned: when the database could be read
  type: str
queries:
  description: The SQL it ran, in order, each after a comment naming it and its psql variables.
  returned: always
  type: list
  elements: str
files:
  description: The files written.
  returned: always
  type: list
  elements: str
  sample: [/opt/n8n/db-report/db-report.json, /opt/n8n/db-report/db-report.md]
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.n8n_ops.stack.plugins.module_utils import db_report as report_logic
from ansible_collections.n8n_ops.stack.plugins.module_utils.docker_exec import container_argument_spec
from ansible_collections.n8n_ops.stack.plugins.module_utils.fileutil import atomic_write_bytes

# The container's environment names the user and database (the official image's defaults when unset).
PSQL = ('psql -X -q -At -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" '
        '-d "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" "$@"')
# Every query carries this name, so the report leaves its own statements out of pg_stat_statements.
MARK = 'n8n_ops_db_report'

PROBE_SQL = '''SELECT json_build_object(
  'database', current_database(), 'server_version', current_setting('server_version'),
  'server_version_num', current_setting('server_version_num')::int,
  'shared_preload_libraries', current_setting('shared_preload_libraries'),
  'pg_stat_statements_version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'),
  'vector_version', (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
  'stats_reset', (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
  'now', now()) AS n8n_ops_db_report;
'''

CREATE_EXTENSION_SQL = '''/* n8n_ops_db_report */ CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT json_build_object('version', (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'))
  AS n8n_ops_db_report;
'''

STATEMENTS_SQL = '''WITH s AS (
  SELECT queryid::text AS queryid, query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows,
         shared_blks_hit, shared_blks_read
  FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND query NOT LIKE '%n8n_ops_db_report%'
), picked AS (
  (SELECT queryid FROM s ORDER BY total_ms DESC LIMIT :top)
  UNION
  (SELECT queryid FROM s ORDER BY mean_ms DESC LIMIT :top)
)
SELECT coalesce(json_agg(s ORDER BY s.total_ms DESC), '[]') AS n8n_ops_db_report
FROM s WHERE s.queryid IN (SELECT queryid FROM picked);
'''

CACHE_SQL = '''SELECT json_build_object(
  'heap_hit', (SELECT coalesce(sum(heap_blks_hit), 0) FROM pg_statio_user_tables),
  'heap_read', (SELECT coalesce(sum(heap_blks_read), 0) FROM pg_statio_user_tables),
  'idx_hit', (SELECT coalesce(sum(idx_blks_hit), 0) FROM pg_statio_user_indexes),
  'idx_read', (SELECT coalesce(sum(idx_blks_read), 0) FROM pg_statio_user_indexes)) AS n8n_ops_db_report;
'''

TABLES_SQL = '''SELECT coalesce(json_agg(x ORDER BY x.seq_tup_read DESC, x.table), '[]') AS n8n_ops_db_report FROM (
  SELECT schemaname AS schema, relname AS table, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan,
         n_live_tup, n_dead_tup, last_autovacuum, last_vacuum, pg_relation_size(relid) AS size_bytes
  FROM pg_stat_user_tables
) x;
'''

INDEXES_SQL = '''SELECT coalesce(json_agg(x ORDER BY x.table, x.name), '[]') AS n8n_ops_db_report FROM (
  SELECT n.nspname AS schema, t.relname AS table, c.relname AS name, am.amname AS method,
         i.indisunique AS unique, i.indisprimary AS primary, i.indisvalid AS valid, i.indnkeyatts AS key_count,
         (SELECT json_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS columns,
         (SELECT json_agg(o.opt ORDER BY o.ord) FROM unnest(i.indoption::int2[]) WITH ORDINALITY o(opt, ord))
           AS options,
         pg_get_expr(i.indexprs, i.indrelid) AS expressions, pg_get_expr(i.indpred, i.indrelid) AS predicate,
         pg_get_indexdef(i.indexrelid) AS definition,
         EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                   AND con.contype IN ('p', 'u', 'x')) AS constraint_backed,
         coalesce(s.idx_scan, 0) AS idx_scan, pg_relation_size(i.indexrelid) AS size_bytes, c.reloptions
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
) x;
'''

BLOAT_SQL = '''SELECT coalesce(json_agg(x ORDER BY x.table), '[]') AS n8n_ops_db_report FROM (
  SELECT n.nspname AS schema, c.relname AS table, pg_relation_size(c.oid) AS size_bytes,
         coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast_bytes, c.reltuples,
         (SELECT sum((1 - st.null_frac) * st.avg_width) FROM pg_stats st
            WHERE st.schemaname = n.nspname AND st.tablename = c.relname AND NOT st.inherited) AS row_width,
         current_setting('block_size')::int AS block_size,
         coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions) WHERE option_name = 'fillfactor'),
                  100) AS fillfactor,
         s.n_live_tup, s.n_dead_tup, s.last_autovacuum, s.last_vacuum
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_stat_user_tables s ON s.relid = c.oid
  WHERE c.relkind = 'r' AND c.relname = ANY (string_to_array(:'tables', ','))
) x;
'''

RESET_SQL = '''SELECT json_build_object('reset', (SELECT true FROM (SELECT pg_stat_statements_reset()) r))
  AS n8n_ops_db_report;
'''

# The statement to explain goes between these (explain_refusal() accepted it: one SELECT, nothing for psql).
EXPLAIN_HEAD = '''/* n8n_ops_db_report */ BEGIN READ ONLY;
/* n8n_ops_db_report */ SET LOCAL statement_timeout = '5min';
/* n8n_ops_db_report */ EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)
'''
EXPLAIN_TAIL = '''
;
/* n8n_ops_db_report */ ROLLBACK;
'''


class ReportError(Exception):
    pass


class Psql:
    """psql in the postgres container, one script per call; keeps the SQL it ran."""

    def __init__(self, module):
        self.module = module
        self.queries = []

    def argv(self, variables):
        p = self.module.params
        argv = [p['docker_cli'], 'exec', '-i', p['container'], 'sh', '-c', PSQL, 'psql']
        for name, value in sorted(variables.items()):
            argv += ['-v', '%s=%s' % (name, value)]
        return argv

    def run(self, name, sql, **variables):
        self.queries.append('-- %s%s\n%s' % (name, ''.join(' -v %s=%s' % kv for kv in sorted(variables.items())),
                                             sql.strip()))
        rc, out, err = self.module.run_command(self.argv(variables), data=sql)
        if rc != 0:
            raise ReportError('%s failed in container %s (rc=%d): %s' % (
                name, self.module.params['container'], rc, (err or out).strip()[-2000:]))
        return out

    def json(self, name, sql, **variables):
        out = self.run(name, sql, **variables)
        try:
            return json.loads(out)
        except ValueError as exc:
            raise ReportError('%s did not answer JSON: %s (%s)' % (name, exc, out.strip()[:300])) from exc


def thresholds_or_error(given):
    unknown = sorted(set(given) - set(report_logic.THRESHOLDS))
    if unknown:
        known = ', '.join(sorted(report_logic.THRESHOLDS))
        return None, 'Unknown thresholds %s; known: %s' % (', '.join(unknown), known)
    try:
        return dict((k, type(report_logic.THRESHOLDS[k])(float(v))) for k, v in given.items()), None
    except (TypeError, ValueError) as exc:
        return None, 'thresholds must be numbers: %s' % exc


def load_baseline(path):
    try:
        with open(path, encoding='utf-8') as f:
            baseline = json.load(f)
    except FileNotFoundError as exc:
        raise ReportError('the baseline %s does not exist (write one with save_baseline)' % path) from exc
    except (OSError, ValueError) as exc:
        raise ReportError('cannot read the baseline %s: %s' % (path, exc)) from exc
    if not isinstance(baseline, dict) or 'top_by_total_time' not in baseline:
        raise ReportError('the baseline %s is not a db-report.json' % path)
    return baseline


def container_running(module):
    p = module.params
    rc, out, err = module.run_command([p['docker_cli'], 'inspect', '--format', '{{.State.Running}}', p['container']])
    if rc != 0:
        raise ReportError('no container %s: %s' % (p['container'], (err or out).strip()[:300]))
    if out.strip() != 'true':
        raise ReportError('the container %s is not running' % p['container'])


def statements_available(module, psql, meta, result):
    """pg_stat_statements state -> {'available', 'preloaded', 'version', 'created', 'notice'}; creates the
    extension when the library is preloaded but the extension is missing."""
    state = dict(available=False, created=False, version=meta.get('pg_stat_statements_version'), notice=None,
                 preloaded=report_logic.preloaded(meta.get('shared_preload_libraries')))
    if not state['preloaded']:
        state['notice'] = (
            "pg_stat_statements is not in shared_preload_libraries (%r), so the statement sections are empty: it "
            "needs shared_preload_libraries = 'pg_stat_statements' and a PostgreSQL restart (the pg_tuning role's "
            "configuration sets it, the stack's postgres command preloads it)" % meta.get('shared_preload_libraries'))
    elif state['version']:
        state['available'] = True
    elif module.check_mode:
        result['changed'] = True
        state['notice'] = 'pg_stat_statements is preloaded but not created in %s: it would be created (check mode)' \
            % meta.get('database')
    else:
        state['version'] = psql.json('create pg_stat_statements', CREATE_EXTENSION_SQL)['version']
        result['changed'] = state['created'] = state['available'] = True
        state['notice'] = 'pg_stat_statements was created in %s: its statements are counted from the server ' \
            'start or the last reset' % meta.get('database')
    return state


def explain_plans(psql, statements):
    plans = []
    for sql in statements:
        text = sql.strip().rstrip(';').rstrip()
        plans.append(dict(sql=text, plan=psql.run('explain', EXPLAIN_HEAD + text + EXPLAIN_TAIL)))
    return plans


def gather(module, psql, result):
    p = module.params
    meta = psql.json('probe', PROBE_SQL)
    pss = statements_available(module, psql, meta, result)
    raw = dict(meta=meta, pg_stat_statements=pss, notices=[pss['notice']] if pss['notice'] else [])
    raw['statements'] = psql.json('statements', STATEMENTS_SQL, top=p['top']) if pss['available'] else []
    raw['cache'] = psql.json('cache hit ratios', CACHE_SQL)
    raw['tables'] = psql.json('tables', TABLES_SQL)
    raw['indexes'] = psql.json('indexes', INDEXES_SQL)
    raw['bloat'] = psql.json('bloat', BLOAT_SQL, tables=','.join(report_logic.EXECUTION_TABLES))
    raw['explain'] = explain_plans(psql, p['explain'])
    if p['reset_stats'] and pss['available']:
        if not module.check_mode:
            psql.json('reset pg_stat_statements', RESET_SQL)
        result['changed'] = True
    return raw


def write_files(module, report, markdown):
    p = module.params
    data = (json.dumps(report, indent=1, sort_keys=True) + '\n').encode()
    files = []
    if p['output_dir']:
        os.makedirs(p['output_dir'], 0o750, exist_ok=True)
        for name, content in (('db-report.json', data), ('db-report.md', markdown.encode())):
            atomic_write_bytes(os.path.join(p['output_dir'], name), content, mode=0o640)
            files.append(os.path.join(p['output_dir'], name))
    if p['save_baseline']:
        os.makedirs(os.path.dirname(os.path.abspath(p['save_baseline'])), 0o750, exist_ok=True)
        atomic_write_bytes(p['save_baseline'], data, mode=0o640)
        files.append(p['save_baseline'])
    return files


def validate(p):
    if p['top'] < 1:
        return 'top must be at least 1'
    for sql in p['explain']:
        refusal = report_logic.explain_refusal(sql)
        if refusal:
            return 'refusing to explain %r: %s' % (sql[:200], refusal)
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            **container_argument_spec(),
            top=dict(type='int', default=10),
            output_dir=dict(type='path', default=''),
            baseline=dict(type='path', default=''),
            save_baseline=dict(type='path', default=''),
            explain=dict(type='list', elements='str', default=[]),
            thresholds=dict(type='dict', default={}),
            reset_stats=dict(type='bool', default=False),
            fail_on_regression=dict(type='bool'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    psql = Psql(module)
    result = dict(changed=False, regressions=[], queries=psql.queries, files=[])
    thresholds, error = thresholds_or_error(p['thresholds'])
    error = error or validate(p)
    if error:
        module.fail_json(msg=error, **result)
    try:
        baseline = load_baseline(p['baseline']) if p['baseline'] else None
        container_running(module)
        raw = gather(module, psql, result)
    except ReportError as exc:
        module.fail_json(msg=str(exc), **result)

    report = report_logic.build_report(raw, p['top'], thresholds)
    if baseline is not None:
        report['regressions'] = report_logic.diff(baseline, report, thresholds)
        report['baseline'] = dict(path=p['baseline'], generated_at=baseline.get('generated_at'))
    markdown = report_logic.render_markdown(report)
    result.update(report=report, regressions=report['regressions'], markdown=markdown)
    if not module.check_mode:
        try:
            result['files'] = write_files(module, report, markdown)
        except OSError as exc:
            module.fail_json(msg='cannot write the report: %s' % exc, **result)
    fail_on_regression = p['fail_on_regression'] if p['fail_on_regression'] is not None else baseline is not None
    if fail_on_regression and report['regressions']:
        module.fail_json(msg='%d regressions against the baseline: %s' % (
            len(report['regressions']), '; '.join(r['message'] for r in report['regressions'])), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

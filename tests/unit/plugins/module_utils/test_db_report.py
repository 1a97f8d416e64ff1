import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils import db_report as r

T = dict(r.THRESHOLDS)

# pg_stat_statements' texts of n8n's (TypeORM) statements
FIND_BY_WORKFLOW = (
    'SELECT "ExecutionEntity"."id" AS "ExecutionEntity_id", "ExecutionEntity"."status" AS "ExecutionEntity_status" '
    'FROM "execution_entity" "ExecutionEntity" WHERE "ExecutionEntity"."workflowId" = $1 AND '
    '"ExecutionEntity"."status" IN ($2, $3) ORDER BY "ExecutionEntity"."id" DESC LIMIT $4')
WITH_DATA = (
    'SELECT "ExecutionEntity"."id" AS "ExecutionEntity_id" FROM "execution_entity" "ExecutionEntity" LEFT JOIN '
    '"execution_data" "ExecutionEntity__ExecutionEntity_executionData" ON '
    '"ExecutionEntity__ExecutionEntity_executionData"."executionId"="ExecutionEntity"."id" WHERE '
    '( ("ExecutionEntity"."id" = $1) ) AND ( "ExecutionEntity"."deletedAt" IS NULL )')
SOFT_DELETE = ('UPDATE "execution_entity" SET "deletedAt" = $1 WHERE "finishedAt" <= $2 AND "status" NOT IN ($3, $4) '
               'AND "deletedAt" IS NULL')
WAITING = ('SELECT "ExecutionEntity"."id" FROM "execution_entity" "ExecutionEntity" WHERE '
           '"ExecutionEntity"."waitTill" <= $1 AND "ExecutionEntity"."status" = $2 AND extract(epoch from '
           '"ExecutionEntity"."waitTill") > $3')
WEBHOOK = ('SELECT "WebhookEntity"."webhookPath" AS "WebhookEntity_webhookPath" FROM "webhook_entity" "WebhookEntity" '
           'WHERE ("WebhookEntity"."webhookPath" = $1 AND "WebhookEntity"."method" = $2)')
ACTIVE_WORKFLOWS = ('SELECT w.id FROM public.workflow_entity AS w WHERE w.active = $1 AND w.id IN '
                    '(SELECT "workflowId" FROM execution_entity WHERE "startedAt" > $2)')


def ix(name, columns, table='execution_entity', **kw):
    return dict(dict(schema='public', table=table, name=name, method='btree', unique=False, primary=False, valid=True,
                     key_count=len(columns), columns=columns, options=[0] * len(columns), expressions=None,
                     predicate=None, definition='CREATE INDEX %s ON %s (%s)' % (name, table, ', '.join(columns)),
                     constraint_backed=False, idx_scan=5, size_bytes=8192, reloptions=None), **kw)


PKEY = ix('pk_execution_entity', ['id'], unique=True, primary=True, constraint_backed=True)


def stmt(queryid, query, calls=100, mean_ms=1.0, **kw):
    return dict(dict(queryid=queryid, query=query, calls=calls, total_ms=calls * mean_ms, mean_ms=mean_ms, rows=calls,
                     shared_blks_hit=990, shared_blks_read=10), **kw)


EXEC_TABLE = dict(schema='public', table='execution_entity', seq_scan=500, seq_tup_read=100_000_000, idx_scan=20,
                  n_live_tup=200_000, n_dead_tup=0)


# ---------------------------------------------------------------- predicate_columns

def test_typeorm_alias_and_quoted_camel_case_columns():
    assert r.predicate_columns(FIND_BY_WORKFLOW) == {'execution_entity': ['workflowId', 'status']}


def test_join_on_columns_count_for_both_tables():
    assert r.predicate_columns(WITH_DATA) == {'execution_data': ['executionId'],
                                              'execution_entity': ['id', 'deletedAt']}


def test_unqualified_columns_of_the_only_table_and_set_is_no_predicate():
    assert r.predicate_columns(SOFT_DELETE) == {'execution_entity': ['finishedAt', 'status', 'deletedAt']}


def test_extract_field_is_no_column():
    assert r.predicate_columns(WAITING) == {'execution_entity': ['waitTill', 'status']}


def test_webhook_lookup():
    assert r.predicate_columns(WEBHOOK) == {'webhook_entity': ['webhookPath', 'method']}


def test_schema_qualified_table_as_alias_and_subquery_scope():
    assert r.predicate_columns(ACTIVE_WORKFLOWS) == {'workflow_entity': ['active', 'id'],
                                                     'execution_entity': ['startedAt']}


def test_unqualified_columns_of_several_tables_are_not_guessed():
    assert r.predicate_columns('SELECT 1 FROM a, b WHERE a.x = b.y AND z = $1') == {'a': ['x'], 'b': ['y']}


def test_literals_params_and_keywords_are_no_columns():
    q = "SELECT * FROM t WHERE a = 'b = c' AND d IS NOT NULL AND e IS DISTINCT FROM f AND g = $1::timestamptz"
    assert r.predicate_columns(q) == {'t': ['a', 'd', 'e', 'f', 'g']}


@pytest.mark.parametrize('query', [None, '', '<insufficient privilege>', 'SELECT $1', 'SELECT (((', 'BEGIN',
                                   'SELECT * FROM t FOR UPDATE SKIP LOCKED', 'SELECT now() FROM'])
def test_odd_texts_give_nothing_and_never_raise(query):
    assert r.predicate_columns(query) == {}


# ---------------------------------------------------------------- missing indexes

def test_seq_scan_dominated_table_names_the_unindexed_columns():
    found = r.missing_index_candidates([EXEC_TABLE], [stmt('1', FIND_BY_WORKFLOW, mean_ms=20)], 10000, 0.5,
                                       [PKEY, ix('idx_status', ['status'])])
    assert len(found) == 1
    c = found[0]
    assert c['table'] == 'execution_entity' and c['columns'] == ['workflowId'] and c['indexed_columns'] == ['status']
    assert c['seq_share'] == pytest.approx(500 / 520, abs=1e-4) and c['queryids'] == ['1']


def test_columns_ranked_by_the_time_their_statements_take():
    found = r.missing_index_candidates([EXEC_TABLE], [stmt('1', FIND_BY_WORKFLOW, mean_ms=1),
                                                      stmt('2', SOFT_DELETE, mean_ms=50)], 10000, 0.5)
    assert found[0]['columns'] == ['status', 'finishedAt', 'deletedAt', 'workflowId']  # status: in both


@pytest.mark.parametrize('change', [dict(n_live_tup=500), dict(idx_scan=5000), dict(seq_tup_read=10)])
def test_small_or_index_served_tables_are_no_candidates(change):
    assert r.missing_index_candidates([dict(EXEC_TABLE, **change)], [stmt('1', FIND_BY_WORKFLOW)], 10000, 0.5) == []


def test_a_partial_or_invalid_index_does_not_count_as_indexing_the_column():
    indexes = [ix('idx_wf_partial', ['workflowId'], predicate='"deletedAt" IS NULL'),
               ix('idx_wf_invalid', ['workflowId'], valid=False)]
    found = r.missing_index_candidates([EXEC_TABLE], [stmt('1', FIND_BY_WORKFLOW)], 10000, 0.5, indexes)
    assert found[0]['columns'] == ['workflowId', 'status']


# ---------------------------------------------------------------- duplicate, unused, invalid indexes

def test_prefix_index_is_a_duplicate_of_the_longer_one():
    dupes = r.duplicate_indexes([ix('idx_status', ['status']), ix('idx_status_finished', ['status', 'finishedAt'])])
    assert [(d['name'], d['covered_by'], d['reason']) for d in dupes] == [
        ('idx_status', 'idx_status_finished', 'prefix')]


def test_identical_indexes_flag_only_one():
    dupes = r.duplicate_indexes([ix('idx_a', ['workflowId']), ix('idx_b', ['workflowId'])])
    assert [(d['name'], d['covered_by'], d['reason']) for d in dupes] == [('idx_b', 'idx_a', 'same columns')]


def test_unique_or_primary_key_is_never_the_redundant_one_of_a_plain_index():
    dupes = r.duplicate_indexes([PKEY, ix('idx_id', ['id']), ix('uq_wf', ['workflowId'], unique=True),
                                 ix('idx_wf_status', ['workflowId', 'status'])])
    assert [(d['name'], d['covered_by']) for d in dupes] == [('idx_id', 'pk_execution_entity')]


def test_narrower_unique_index_enforces_more_and_stays():
    assert r.duplicate_indexes([ix('uq_a', ['a'], unique=True), ix('uq_ab', ['a', 'b'], unique=True)]) == []


def test_two_identical_unique_indexes_flag_the_one_without_a_constraint():
    dupes = r.duplicate_indexes([PKEY, ix('uq_id', ['id'], unique=True)])
    assert [d['name'] for d in dupes] == ['uq_id']


@pytest.mark.parametrize('other', [
    dict(method='hash'), dict(predicate='"deletedAt" IS NULL'), dict(expressions='lower(status)'),
    dict(table='execution_data'), dict(options=[3, 0]), dict(valid=False)])
def test_indexes_that_differ_are_no_duplicates(other):
    assert r.duplicate_indexes([ix('idx_status', ['status']),
                                ix('idx_status_finished', ['status', 'finishedAt'], **other)]) == []


def test_include_columns_must_be_covered_too():
    small = ix('idx_s', ['status', 'waitTill'], key_count=1)
    assert r.duplicate_indexes([small, ix('idx_sf', ['status', 'finishedAt'])]) == []
    assert [d['name'] for d in r.duplicate_indexes([small, ix('idx_sw', ['status', 'waitTill'])])] == ['idx_s']


def test_unused_indexes_leave_out_what_enforces_something():
    indexes = [ix('idx_unused', ['status'], idx_scan=0), ix('idx_used', ['finishedAt']),
               dict(PKEY, idx_scan=0), ix('uq_x', ['x'], unique=True, idx_scan=0),
               ix('ex_x', ['x'], constraint_backed=True, idx_scan=0), ix('idx_broken', ['y'], idx_scan=0, valid=False)]
    assert [i['name'] for i in r.unused_indexes(indexes)] == ['idx_unused']


def test_invalid_indexes():
    assert [i['name'] for i in r.invalid_indexes([ix('a', ['x']), ix('b', ['y'], valid=False)])] == ['b']


# ---------------------------------------------------------------- bloat, pgvector, cache

def test_freshly_packed_heap_has_no_bloat():
    # 200000 rows of 30 bytes: 136 tuples of 24 + 32 + 4 bytes per 8 kB page -> 1471 pages
    row = dict(table='execution_entity', size_bytes=1471 * 8192, reltuples=200000, row_width=30.0, block_size=8192,
               fillfactor=100, n_live_tup=200000, n_dead_tup=0)
    b = r.bloat_estimate([row])[0]
    assert b['expected_bytes'] == 1471 * 8192 and b['bloat_bytes'] == 0 and b['problems'] == []


def test_bloated_execution_data_and_dead_tuples_are_flagged():
    row = dict(table='execution_data', size_bytes=2 * 2 ** 30, reltuples=100000, row_width=200.0,
               n_live_tup=100000, n_dead_tup=50000, toast_bytes=5 * 2 ** 30)
    b = r.bloat_estimate([row], T)[0]
    assert b['bloat_ratio'] > 0.9 and b['expected_bytes'] == int(r.math.ceil(100000 / 35)) * 8192
    assert b['dead_share'] == pytest.approx(1 / 3, abs=1e-4) and len(b['problems']) == 2
    assert 'pg_repack' in b['problems'][0] and 'autovacuum is behind' in b['problems'][1]


def test_fillfactor_leaves_room_on_each_page():
    assert r.expected_heap_bytes(1000, 100, fillfactor=50) > r.expected_heap_bytes(1000, 100)


def test_never_analyzed_table_has_no_estimate():
    b = r.bloat_estimate([dict(table='execution_metadata', size_bytes=8192, reltuples=-1, row_width=None)])[0]
    assert b['bloat_ratio'] is None and 'never analyzed' in b['problems'][0]


def test_vector_indexes_with_options_and_defaults():
    rows = [ix('emb_hnsw', ['embedding'], table='docs', method='hnsw', reloptions=['m=32']),
            ix('emb_ivf', ['embedding'], table='docs', method='ivfflat', reloptions=['lists=200']),
            ix('idx_plain', ['id'], table='docs')]
    found = r.vector_indexes(rows)
    assert [(v['name'], v['method']) for v in found] == [('emb_hnsw', 'hnsw'), ('emb_ivf', 'ivfflat')]
    assert found[0]['m'] == 32 and found[0]['ef_construction'] == 64 and found[1]['lists'] == 200


def test_no_vector_indexes_without_pgvector():
    assert r.vector_indexes([ix('a', ['x'])]) == [] and r.vector_indexes(None) == []


def test_cache_hit_ratios_against_their_targets():
    c = r.cache_hit_ratios(dict(heap_hit=980_000, heap_read=20_000, idx_hit=990_000, idx_read=10_000), T)
    assert c['table']['ratio'] == 0.98 and not c['table']['ok'] and c['index']['ok']
    assert r.cache_hit_ratios(dict(heap_hit=10, heap_read=90), T)['table']['ok']  # too few blocks to judge


def test_preloaded_reads_the_setting():
    assert r.preloaded('pg_stat_statements') and r.preloaded('auto_explain, "pg_stat_statements"')
    assert not r.preloaded('') and not r.preloaded(None) and not r.preloaded('pg_stat_statements_x')


@pytest.mark.parametrize('sql', ['SELECT 1', 'select * from execution_entity where "workflowId" = \'1\';',
                                 'WITH x AS (SELECT 1) SELECT * FROM x', "SELECT ';', '\\'", '-- why\nSELECT 1'])
def test_explain_accepts_one_select(sql):
    assert r.explain_refusal(sql) is None


@pytest.mark.parametrize('sql,why', [
    ('DELETE FROM execution_entity', 'not DELETE'), ('SELECT 1; DELETE FROM t', 'single statement'),
    ('WITH d AS (SELECT 1) DELETE FROM t', 'has DELETE'), ('SELECT * INTO copy FROM t', 'has INTO'),
    ('SELECT 1 \\! rm -rf /', 'backslash'), ("SELECT 'open", 'open'), ('SELECT 1 /* open', 'open'), ('', 'empty'),
    ('-- SELECT 1', 'empty')])
def test_explain_refuses_anything_else(sql, why):
    assert why in r.explain_refusal(sql)


# ---------------------------------------------------------------- report, diff, markdown

PLAN = 'Result  (cost=0.00..0.01 rows=1 width=4)\n  Buffers: shared hit=1'
WARM = dict(heap_hit=10 ** 6, heap_read=10, idx_hit=10 ** 6, idx_read=10)


def raw(statements=(), tables=(EXEC_TABLE,), indexes=(PKEY,), cache=None):
    return dict(meta=dict(database='n8n', server_version='15.18', now='2026-11-26T10:00:00+00:00'),
                pg_stat_statements=dict(available=True), statements=list(statements), tables=list(tables),
                indexes=list(indexes), cache=cache or WARM,
                bloat=[dict(table='execution_entity', size_bytes=1471 * 8192, reltuples=200000, row_width=30.0)],
                explain=[dict(sql='SELECT 1', plan=PLAN)])


def test_build_report_lists_top_statements_both_ways():
    statements = [stmt('1', 'SELECT 1', calls=10000, mean_ms=0.5), stmt('2', 'SELECT 2', calls=3, mean_ms=900),
                  stmt('3', 'SELECT 3', calls=10, mean_ms=1)]
    rep = r.build_report(raw(statements), top=2)
    assert [s['queryid'] for s in rep['top_by_total_time']] == ['1', '2']
    assert [s['queryid'] for s in rep['top_by_mean_time']] == ['2', '3']
    assert rep['missing_index_candidates'][0]['table'] == 'execution_entity' and rep['thresholds'] == T


def test_diff_flags_a_slower_statement_a_cold_cache_and_a_new_seq_scan_table():
    before = r.build_report(raw([stmt('7', FIND_BY_WORKFLOW, mean_ms=0.4)],
                                tables=[dict(EXEC_TABLE, idx_scan=10 ** 6)]))
    after = r.build_report(raw([stmt('7', FIND_BY_WORKFLOW, mean_ms=15.0)],
                               cache=dict(heap_hit=900_000, heap_read=100_000, idx_hit=10 ** 6, idx_read=0)))
    found = r.diff(before, after)
    assert [(f['kind'], f['name']) for f in found] == [('statement', '7'), ('cache', 'table_hit_ratio'),
                                                       ('seq_scan', 'execution_entity')]
    assert '0.40 ms -> 15.00 ms' in found[0]['message'] and 'workflowId' in found[2]['message']


@pytest.mark.parametrize('before,after,calls', [
    (0.2, 0.9, 100),    # +350 % but below the 1 ms floor
    (10.0, 14.0, 100),  # +4 ms but only +40 %
    (1.0, 50.0, 3),     # too few calls to judge
])
def test_no_statement_regression_below_the_thresholds(before, after, calls):
    b = r.build_report(raw([stmt('7', 'SELECT 7', mean_ms=before, calls=calls)]))
    a = r.build_report(raw([stmt('7', 'SELECT 7', mean_ms=after, calls=calls)]))
    assert r.diff(b, a) == []


def test_diff_thresholds_are_arguments():
    b = r.build_report(raw([stmt('7', 'SELECT 7', mean_ms=10.0)]))
    a = r.build_report(raw([stmt('7', 'SELECT 7', mean_ms=14.0)]))
    assert [f['name'] for f in r.diff(b, a, dict(mean_time_pct=30))] == ['7']
    cold = r.build_report(raw(cache=dict(heap_hit=10 ** 6, heap_read=10, idx_hit=960_000, idx_read=40_000)))
    assert r.diff(cold, cold) == [] and [f['name'] for f in r.diff(cold, cold, dict(index_hit_min=0.97))] == [
        'index_hit_ratio']


def test_markdown_has_every_section():
    rep = r.build_report(raw([stmt('7', FIND_BY_WORKFLOW + ' | x', mean_ms=15.0)],
                             indexes=[PKEY, ix('idx_id', ['id'], idx_scan=0)]))
    rep['regressions'], rep['baseline'] = [dict(kind='statement', name='7', message='slower')], dict(generated_at='x')
    rep['notices'] = ['pg_stat_statements was created']
    md = r.render_markdown(rep)
    for title in ('# PostgreSQL report: n8n', '## Top statements by total time', '## Top statements by mean time',
                  '## Cache hit ratios', '## Missing index candidates', '## Unused indexes', '## Invalid indexes',
                  '## Duplicate indexes', '## Bloat of the execution tables', '## pgvector',
                  '## EXPLAIN (ANALYZE, BUFFERS)', '## Regressions against the baseline', '> pg_stat_statements'):
        assert title in md
    assert '| execution_entity | 500 | 20 | 96.15 % |' in md and 'workflowId' in md and '\\| x' in md
    assert 'Buffers: shared hit=1' in md and '| statement | 7 | slower |' in md


def test_markdown_without_statements_says_why():
    rep = r.build_report(dict(raw(), pg_stat_statements=dict(available=False), statements=[]))
    assert 'No statements (pg_stat_statements is not available).' in r.render_markdown(rep)


@pytest.mark.parametrize("query", [
    "SELECT pg_reload_conf(); SELECT pg_sleep($1)", "DROP DATABASE n8n_ops_pgbench", "SET search_path = public",
    "DO $$ BEGIN PERFORM 1; END $$", "SELECT set_config($1, $2, $3) AS owner_set /* n8n_ops */"])
def test_own_tooling_statements_are_reported_apart(query):
    rep = r.build_report(raw([stmt('1', query, mean_ms=500.0), stmt('2', FIND_BY_WORKFLOW, mean_ms=1.0)]))
    assert [s['queryid'] for s in rep['top_by_total_time']] == ['2'] == [s['queryid'] for s in rep['top_by_mean_time']]
    assert [s['queryid'] for s in rep['own_tooling_statements']] == ['1']
    assert "own statements (tuning, db_owner, psql; not ranked above)" in r.render_markdown(rep)


def test_n8n_statements_are_not_taken_for_tooling():
    assert not r.own_tooling(FIND_BY_WORKFLOW)
    assert not r.own_tooling('UPDATE "execution_entity" SET "status" = $1 WHERE "id" = $2')

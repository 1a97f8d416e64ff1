# Copyright: n8n_ops maintainers
# SPDX-License-Identifier: MIT (see LICENSE)
"""A PgHero-class report on n8n's PostgreSQL (pure): the slowest statements, cache hit ratios, tables read by
sequential scans with the columns an index would serve, unused, invalid and duplicate indexes, bloat of n8n's
execution tables, pgvector indexes, EXPLAIN plans, and the regressions against an earlier report.

The db_report module runs the catalog queries (psql in the postgres container) and hands their JSON here; every
threshold is an argument.
"""

from __future__ import annotations

import math
import re

REPORT_VERSION = 1
THRESHOLDS = dict(
    mean_time_pct=50.0,             # a statement regressed when its mean time rose by more than this share ...
    mean_time_floor_ms=1.0,         # ... and by at least this many ms (sub-millisecond jitter is no regression)
    min_calls=10,                   # calls a statement needs in both reports before its mean time is compared
    table_hit_min=0.99,             # heap blocks hit / (hit + read): PgHero's target for tables
    index_hit_min=0.95,             # the same for index blocks
    cache_min_blocks=10000,         # hit + read blocks before a ratio is judged (a fresh server reads everything once)
    missing_index_min_rows=10000,   # live rows before a table's sequential scans matter
    missing_index_seq_share=0.05,   # seq_scan share of all scans from which a big table lacks an index (PgHero)
    bloat_ratio_max=0.5,            # share of an execution table's heap that is bloat before it is flagged ...
    bloat_min_bytes=64 * 2 ** 20,   # ... when that is at least this much (a small table's ratio says little)
    dead_tuple_share_max=0.2,       # dead / (live + dead) tuples before autovacuum counts as behind
)
# n8n's tables that grow with every execution and are pruned (EXECUTIONS_DATA_PRUNE): where bloat collects
EXECUTION_TABLES = ('execution_entity', 'execution_data', 'execution_metadata', 'execution_annotations')
TUPLE_HEADER, LINE_POINTER, PAGE_HEADER, MAXALIGN = 24, 4, 24, 8
VECTOR_METHODS = {'hnsw': dict(m=16, ef_construction=64), 'ivfflat': dict(lists=100)}  # pgvector's defaults
QUERY_CHARS = 300  # of a statement's text in the Markdown tables

# ---------------------------------------------------------------- statement text

_TOKEN = re.compile(r'''
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<str>[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')
  | (?P<dollar>\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)\$)
  | (?P<param>\$\d+)
  | (?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<id>[A-Za-z_][\w$]*)
  | (?P<cast>::)
  | (?P<op>[(),.;\\])
  | (?P<other>\S)
''', re.X | re.S)
# words that end a WHERE/ON predicate at their level of parentheses
_CLAUSE_END = frozenset((
    'select', 'from', 'group', 'order', 'limit', 'offset', 'having', 'returning', 'window', 'union', 'except',
    'intersect', 'for', 'set', 'values', 'fetch', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross',
    'natural', 'lateral', 'using', 'do', 'into'))
# bare words in a predicate that are not columns
_PREDICATE_WORDS = frozenset((
    'and', 'or', 'not', 'in', 'is', 'null', 'true', 'false', 'like', 'ilike', 'similar', 'to', 'between',
    'symmetric', 'any', 'all', 'some', 'exists', 'case', 'when', 'then', 'else', 'end', 'as', 'distinct', 'asc',
    'desc', 'nulls', 'first', 'last', 'interval', 'current_date', 'current_time', 'current_timestamp', 'localtime',
    'localtimestamp', 'current_user', 'session_user', 'collate', 'escape', 'array', 'row', 'default', 'unknown',
    'isnull', 'notnull', 'overlaps', 'at', 'time', 'zone', 'with', 'without', 'where', 'on', 'by', 'cast', 'from'))
# words that may follow a table name but are no alias
_NOT_ALIAS = _CLAUSE_END | frozenset(('where', 'on', 'as', 'tablesample', 'only', 'with', 'when', 'then', 'and',
                                      'or', 'end', 'window'))


def _tokens(text, keep_comments=False):
    """(kind, value) of a statement's text; literals are dropped, comments too unless kept, unquoted names folded
    to lower case as PostgreSQL does, quoted names kept as written."""
    out = []
    for m in _TOKEN.finditer(text or ''):
        kind = m.lastgroup if m.lastgroup != 'tag' else 'dollar'
        if kind in ('str', 'dollar'):
            out.append(('literal', ''))
            continue
        if kind == 'comment' and not keep_comments:
            continue
        value = m.group(kind)
        if kind == 'qid':
            value = value[1:-1].replace('""', '"')
        elif kind == 'id':
            value = value.lower()
        out.append((kind, value))
    return out


def _is_name(tok):
    return tok[0] == 'qid' or tok[0] == 'id'


def _at(tokens, i):
    return tokens[i] if 0 <= i < len(tokens) else ('end', '')


def _dotted_name(tokens, i):
    """Names joined by dots from tokens[i] -> (parts, index after them)."""
    parts = []
    while _is_name(_at(tokens, i)):
        parts.append(tokens[i][1])
        if _at(tokens, i + 1) != ('op', '.'):
            return parts, i + 1
        i += 2
    return parts, i


def _read_table_ref(tokens, i, aliases, tables):
    """One `[ONLY] [schema.]table [[AS] alias]` at tokens[i] (a subquery or a function is none);
    returns the index after it."""
    if _at(tokens, i) == ('id', 'only'):
        i += 1
    parts, j = _dotted_name(tokens, i)
    if not parts or _at(tokens, j) == ('op', '('):
        return i
    if parts[-1] in _NOT_ALIAS and tokens[i][0] == 'id':
        return i
    table = parts[-1]
    tables.append(table)
    aliases.setdefault(table, table)
    if _at(tokens, j) == ('id', 'as'):
        j += 1
    alias = _at(tokens, j)
    if alias[0] == 'qid' or (alias[0] == 'id' and alias[1] not in _NOT_ALIAS):
        aliases[alias[1]] = table
        j += 1
    return j


def _groups(tokens):
    """The parenthesis group of each token (the index of its opening parenthesis, -1 outside any) and each
    group's enclosing group."""
    group, parent, stack = [], {-1: None}, [-1]
    for i, tok in enumerate(tokens):
        if tok == ('op', ')') and len(stack) > 1:
            stack.pop()
        group.append(stack[-1])
        if tok == ('op', '('):
            parent[i] = stack[-1]
            stack.append(i)
    return group, parent


def _starts_table_ref(tokens, i, statement_groups, group):
    word = tokens[i][1]
    if word == 'join':
        return True
    if word == 'update':  # not FOR UPDATE, not ON CONFLICT DO UPDATE
        return _at(tokens, i - 1) not in (('id', 'for'), ('id', 'do'), ('id', 'no'), ('id', 'key'))
    # FROM of a SELECT, DELETE or UPDATE - not of extract(epoch FROM ...) or IS DISTINCT FROM
    return word in ('from', 'using') and group[i] in statement_groups and _at(tokens, i - 1) != ('id', 'distinct')


def _table_refs(tokens, group):
    """The tables a statement reads or changes -> (alias or name -> table, parenthesis group -> its tables)."""
    aliases, scopes, statement_groups = {}, {}, set()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok[0] == 'id' and tok[1] in ('select', 'delete', 'update'):
            statement_groups.add(group[i])
        if tok[0] != 'id' or not _starts_table_ref(tokens, i, statement_groups, group):
            i += 1
            continue
        tables = scopes.setdefault(group[i], [])
        j = _read_table_ref(tokens, i + 1, aliases, tables)
        while tok[1] == 'from' and _at(tokens, j) == ('op', ','):
            j = _read_table_ref(tokens, j + 1, aliases, tables)
        i = max(j, i + 1)
    return aliases, scopes


def _clause_word(tokens, i):
    """True/False when tokens[i] starts/ends a predicate, None when it does neither."""
    word = tokens[i][1]
    if word in ('left', 'right') and _at(tokens, i + 1) == ('op', '('):
        return None  # the string functions
    if word == 'where':
        return True
    if word == 'on':
        return _at(tokens, i - 1) != ('id', 'distinct') and _at(tokens, i + 1) != ('id', 'conflict')
    if word in _CLAUSE_END and not (word == 'from' and _at(tokens, i - 1) == ('id', 'distinct')):
        return False
    return None


def _predicate_columns(tokens):
    group, parent = _groups(tokens)
    aliases, scopes = _table_refs(tokens, group)
    found = {}
    in_predicate = [False]  # one flag per level of parentheses
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        clause = _clause_word(tokens, i) if kind == 'id' else None
        if (kind, value) == ('op', '('):
            in_predicate.append(in_predicate[-1])
        elif (kind, value) == ('op', ')'):
            if len(in_predicate) > 1:
                in_predicate.pop()
        elif clause is not None:
            in_predicate[-1] = clause
        elif _is_name((kind, value)) and in_predicate[-1] and _at(tokens, i - 1) not in (('cast', '::'), ('op', '.')):
            parts, j = _dotted_name(tokens, i)
            table = _column_table(parts, aliases, scopes, group[i], parent)
            if table and _at(tokens, j) != ('op', '(') and not _predicate_word(tokens, i, parts):
                columns = found.setdefault(table, [])
                if parts[-1] not in columns:
                    columns.append(parts[-1])
            i = j
            continue
        i += 1
    return found


def _predicate_word(tokens, i, parts):
    """A bare keyword, or extract()'s field (extract(epoch FROM ...)), not a column."""
    if len(parts) > 1 or tokens[i][0] != 'id':
        return False
    return parts[0] in _PREDICATE_WORDS or (_at(tokens, i - 1) == ('op', '(') and _at(tokens, i + 1) == ('id', 'from'))


def _column_table(parts, aliases, scopes, group, parent):
    """A qualified column's table by its qualifier; an unqualified one's when the nearest enclosing (sub)query
    names a single table."""
    if len(parts) >= 2:
        return aliases.get(parts[-2])
    while group is not None:
        tables = scopes.get(group)
        if tables:
            return tables[0] if len(set(tables)) == 1 else None
        group = parent[group]
    return None


def predicate_columns(query):
    """Columns a normalized statement (pg_stat_statements' text) compares in WHERE and JOIN ... ON, per table:
    {table: [column, ...]}. Aliases (FROM "execution_entity" "ExecutionEntity", FROM t AS a) resolve to their
    table; an unqualified column counts when the statement names one table only. Best effort: a text it cannot
    read gives {}."""
    try:
        return _predicate_columns(_tokens(query))
    except Exception:  # pylint: disable=broad-except  # never let one odd statement break the report
        return {}


def preloaded(setting):
    """True when pg_stat_statements is in this shared_preload_libraries value."""
    names = [n.strip().strip('"').strip() for n in (setting or '').split(',')]
    return 'pg_stat_statements' in names


def explain_refusal(sql):
    """Why sql may not be EXPLAIN ANALYZEd (which runs it), or None for one SELECT or WITH ... SELECT statement.
    The text goes to psql, so anything psql would read as a backslash command, or a quote or comment left open,
    is refused too."""
    tokens = _tokens(sql, keep_comments=True)
    if any('\\' in value for kind, value in tokens if kind in ('comment', 'op')):
        return 'psql backslash commands are not allowed in a statement to explain'
    if any(tok in (('other', "'"), ('other', '"'), ('other', '$')) for tok in tokens) or \
            any(a == ('other', '/') and b == ('other', '*') for a, b in zip(tokens, tokens[1:])):
        return 'the statement leaves a quote or a comment open'
    tokens = [tok for tok in tokens if tok[0] != 'comment']
    while tokens and tokens[-1] == ('op', ';'):
        tokens.pop()
    if not tokens:
        return 'the statement is empty'
    if ('op', ';') in tokens:
        return 'only a single statement can be explained (it has a ; in the middle)'
    if tokens[0] not in (('id', 'select'), ('id', 'with')):
        return 'only SELECT and WITH ... SELECT statements are explained (EXPLAIN ANALYZE runs them), not %s' \
            % tokens[0][1].upper()
    depth = 0
    for kind, value in tokens:
        depth += (kind, value) == ('op', '(')
        depth -= (kind, value) == ('op', ')')
        if depth == 0 and kind == 'id' and value in ('insert', 'update', 'delete', 'merge', 'into'):
            return 'only SELECT and WITH ... SELECT statements are explained (EXPLAIN ANALYZE runs them); ' \
                'this one has %s' % value.upper()
    return None


# ---------------------------------------------------------------- statements, tables, indexes

# Statements of this collection's own tooling in n8n's database (tuning's reloads and waits, its pgbench database
# dropped and created, the stack's db_owner block, psql sessions setting search_path): reported apart, so the top
# lists and the index candidates are n8n's workload.
OWN_TOOLING = re.compile(r'pg_sleep\s*\(|pg_reload_conf\s*\(|n8n_ops|^\s*DO\s+\$|^\s*SET\s+search_path', re.I)


def own_tooling(query):
    """True for a statement our own tooling ran (OWN_TOOLING), not n8n."""
    return bool(OWN_TOOLING.search(query or ''))


def statement(row):
    calls = int(row.get('calls') or 0)
    hit, read = int(row.get('shared_blks_hit') or 0), int(row.get('shared_blks_read') or 0)
    return dict(queryid=str(row.get('queryid')), query=row.get('query') or '', calls=calls,
                total_ms=round(float(row.get('total_ms') or 0), 3), mean_ms=round(float(row.get('mean_ms') or 0), 3),
                rows=int(row.get('rows') or 0), shared_blks_hit=hit, shared_blks_read=read,
                hit_ratio=round(hit / float(hit + read), 4) if hit + read else None)


def seq_share(table):
    seq, idx = int(table.get('seq_scan') or 0), int(table.get('idx_scan') or 0)
    return seq / float(seq + idx) if seq + idx else 0.0


def _leading_columns(indexes):
    """table -> the columns that lead a valid, complete (not partial) index."""
    lead = {}
    for ix in indexes:
        columns = ix.get('columns') or []
        if ix.get('valid', True) and columns and columns[0] and not ix.get('predicate'):
            lead.setdefault(ix['table'], set()).add(columns[0])
    return lead


def _predicate_usage(statements):
    """table -> column -> {'total_ms', 'queryids'} over the statements that compare the column."""
    usage = {}
    for s in statements:
        for table, columns in predicate_columns(s.get('query')).items():
            for column in columns:
                use = usage.setdefault(table, {}).setdefault(column, dict(total_ms=0.0, queryids=[]))
                use['total_ms'] += float(s.get('total_ms') or 0)
                use['queryids'].append(str(s.get('queryid')))
    return usage


def missing_index_candidates(tables, statements, min_rows, min_seq_share, indexes=()):
    """Tables with at least min_rows live rows that are mostly read by sequential scans (their seq_scan share
    of all scans is at least min_seq_share and the scans read at least min_rows rows), each with the columns the
    statements compare on it, the most expensive first, minus the columns that already lead an index."""
    usage = _predicate_usage(statements)
    lead = _leading_columns(indexes)
    found = []
    for t in tables:
        live, read = int(t.get('n_live_tup') or 0), int(t.get('seq_tup_read') or 0)
        share = seq_share(t)
        if live < min_rows or read < min_rows or share < min_seq_share:
            continue
        columns = usage.get(t['table'], {})
        ranked = sorted(columns, key=lambda c, cols=columns: -cols[c]['total_ms'])
        indexed = lead.get(t['table'], set())
        found.append(dict(
            schema=t.get('schema'), table=t['table'], seq_scan=int(t.get('seq_scan') or 0),
            idx_scan=int(t.get('idx_scan') or 0), seq_share=round(share, 4), seq_tup_read=read, n_live_tup=live,
            columns=[c for c in ranked if c not in indexed], indexed_columns=[c for c in ranked if c in indexed],
            queryids=sorted(set(q for c in ranked for q in columns[c]['queryids']))))
    return sorted(found, key=lambda c: -c['seq_tup_read'])


def _key_columns(ix):
    columns, options = ix.get('columns') or [], ix.get('options') or []
    count = int(ix.get('key_count') or len(columns))
    options = list(options) + [0] * (count - len(options))
    return list(zip(columns[:count], options[:count]))


def _include_columns(ix):
    columns = ix.get('columns') or []
    return columns[int(ix.get('key_count') or len(columns)):]


def _comparable(a, b):
    return all(a.get(k) == b.get(k) for k in ('schema', 'table', 'method')) and \
        (a.get('predicate') or '') == (b.get('predicate') or '') and \
        (a.get('expressions') or '') == (b.get('expressions') or '')


def _covers(big, small):
    """small's key columns (with their sort order) equal big's or, for a btree, are a prefix of them; its INCLUDE
    columns are among big's columns."""
    sk, bk = _key_columns(small), _key_columns(big)
    if not sk or (sk != bk and (small.get('method') != 'btree' or bk[:len(sk)] != sk)):
        return False
    return set(_include_columns(small)) <= set(big.get('columns') or [])


def _unique(ix):
    return bool(ix.get('unique') or ix.get('primary'))


def _pinned(ix):
    return bool(ix.get('primary') or ix.get('constraint_backed'))


def _redundant(small, big):
    """small may go because big serves every scan it serves and enforces at least what it enforces."""
    equal = _key_columns(small) == _key_columns(big)
    if _pinned(small):
        return False
    if _unique(small):
        # a unique index is never the redundant one of a non-unique one, nor of a wider unique one
        return _unique(big) and equal and (_pinned(big) or small['name'] > big['name'])
    if equal and not _unique(big):
        return small['name'] > big['name']  # two identical indexes: the second by name is the duplicate
    return True


def duplicate_indexes(indexes):
    """Indexes whose key columns are a prefix of (or equal to) another valid index's on the same table, with the
    same access method, predicate and expressions: [{table, name, covered_by, ...}], biggest first."""
    valid = [ix for ix in indexes if ix.get('valid', True)]
    found = []
    for small in valid:
        for big in valid:
            if big is small or not _comparable(small, big) or not _covers(big, small) or not _redundant(small, big):
                continue
            found.append(dict(schema=small.get('schema'), table=small['table'], name=small['name'],
                              definition=small.get('definition'), size_bytes=int(small.get('size_bytes') or 0),
                              idx_scan=int(small.get('idx_scan') or 0), covered_by=big['name'],
                              covered_by_definition=big.get('definition'),
                              reason='same columns' if _key_columns(small) == _key_columns(big) else 'prefix'))
            break
    return sorted(found, key=lambda d: (-d['size_bytes'], d['table'], d['name']))


def _index_entry(ix):
    return dict(schema=ix.get('schema'), table=ix['table'], name=ix['name'], definition=ix.get('definition'),
                size_bytes=int(ix.get('size_bytes') or 0), idx_scan=int(ix.get('idx_scan') or 0))


def unused_indexes(indexes):
    """Valid indexes never scanned since the statistics were reset that enforce nothing (not unique, not a
    primary key, no constraint behind them): each costs writes and space for nothing."""
    return sorted((_index_entry(ix) for ix in indexes
                   if ix.get('valid', True) and int(ix.get('idx_scan') or 0) == 0 and not _unique(ix)
                   and not ix.get('constraint_backed')),
                  key=lambda d: (-d['size_bytes'], d['table'], d['name']))


def invalid_indexes(indexes):
    """Indexes left invalid by a failed CREATE INDEX CONCURRENTLY: still written, never read."""
    return sorted((_index_entry(ix) for ix in indexes if ix.get('valid') is False),
                  key=lambda d: (d['table'], d['name']))


def _options(reloptions):
    options = {}
    for item in reloptions or []:
        name, dummy, value = str(item).partition('=')
        options[name] = int(value) if value.isdigit() else value
    return options


def vector_indexes(rows):
    """pgvector indexes (hnsw, ivfflat) with their build options, pgvector's defaults where none was given."""
    found = []
    for ix in rows or []:
        defaults = VECTOR_METHODS.get(ix.get('method'))
        if defaults is None:
            continue
        options = _options(ix.get('reloptions'))
        entry = _index_entry(ix)
        entry.update(method=ix['method'], **dict((k, options.get(k, v)) for k, v in defaults.items()))
        found.append(entry)
    return sorted(found, key=lambda d: (d['table'], d['name']))


def _align(n):
    return (n + MAXALIGN - 1) // MAXALIGN * MAXALIGN


def expected_heap_bytes(reltuples, row_width, block_size=8192, fillfactor=100):
    """Bytes the heap would take freshly packed: tuples of header + data (aligned) + a line pointer each, pages
    filled to the fillfactor."""
    usable = (block_size - PAGE_HEADER) * fillfactor / 100.0
    per_page = max(1, int(usable // (_align(TUPLE_HEADER + int(math.ceil(row_width))) + LINE_POINTER)))
    return int(math.ceil(max(reltuples, 0) / per_page)) * block_size


def bloat_estimate(tables, t=None):
    """Heap bloat and dead tuples of n8n's execution tables: rows of (table, size_bytes, reltuples, row_width =
    the sum of pg_stats' avg_width * (1 - null_frac) - a NULL takes no room but counts its type's width there -,
    block_size, fillfactor, n_live_tup, n_dead_tup, ...) -> expected bytes,
    bloat bytes and ratio, dead tuple share and the problems found. A table never analyzed has no estimate."""
    t = dict(THRESHOLDS, **(t or {}))
    found = []
    for row in tables or []:
        size, live, dead = (int(row.get(k) or 0) for k in ('size_bytes', 'n_live_tup', 'n_dead_tup'))
        entry = dict(schema=row.get('schema'), table=row['table'], size_bytes=size,
                     toast_bytes=int(row.get('toast_bytes') or 0), reltuples=int(float(row.get('reltuples') or 0)),
                     n_live_tup=live, n_dead_tup=dead,
                     dead_share=round(dead / float(live + dead), 4) if live + dead else 0.0,
                     last_autovacuum=row.get('last_autovacuum'), last_vacuum=row.get('last_vacuum'),
                     expected_bytes=None, bloat_bytes=None, bloat_ratio=None, problems=[])
        analyzed = row.get('row_width') is not None and float(row.get('reltuples') or 0) >= 0
        if analyzed:
            expected = expected_heap_bytes(float(row.get('reltuples') or 0), float(row['row_width']),
                                           int(row.get('block_size') or 8192), int(row.get('fillfactor') or 100))
            bloat = max(0, size - expected)
            entry.update(expected_bytes=expected, bloat_bytes=bloat, bloat_ratio=round(bloat / float(size), 4)
                         if size else 0.0)
            if entry['bloat_ratio'] > t['bloat_ratio_max'] and bloat >= t['bloat_min_bytes']:
                entry['problems'].append('%.0f %% of the heap (%s) is bloat: VACUUM FULL or pg_repack reclaims it'
                                         % (100 * entry['bloat_ratio'], human_bytes(bloat)))
        else:
            entry['problems'].append('never analyzed: no estimate (ANALYZE %s)' % row['table'])
        if entry['dead_share'] > t['dead_tuple_share_max']:
            entry['problems'].append('%.0f %% of the tuples are dead: autovacuum is behind'
                                     % (100 * entry['dead_share']))
        found.append(entry)
    return sorted(found, key=lambda d: d['table'])


def cache_hit_ratios(cache, t=None):
    """pg_statio sums {heap_hit, heap_read, idx_hit, idx_read} -> table and index ratios against their targets;
    not judged below cache_min_blocks blocks."""
    t = dict(THRESHOLDS, **(t or {}))
    out = {}
    for name, prefix, target in (('table', 'heap', t['table_hit_min']), ('index', 'idx', t['index_hit_min'])):
        hit, read = int((cache or {}).get(prefix + '_hit') or 0), int((cache or {}).get(prefix + '_read') or 0)
        ratio = hit / float(hit + read) if hit + read else None
        judged = hit + read >= t['cache_min_blocks']
        out[name] = dict(ratio=None if ratio is None else round(ratio, 4), hit=hit, read=read, target=target,
                         judged=judged, ok=not judged or ratio >= target)
    return out


def build_report(raw, top=10, thresholds=None):
    """The report from the raw query results: {'meta', 'pg_stat_statements', 'statements', 'cache', 'tables',
    'indexes', 'bloat', 'explain', 'notices'}."""
    t = dict(THRESHOLDS, **(thresholds or {}))
    meta = raw.get('meta') or {}
    statements, ours = [], []
    for row in raw.get('statements') or []:
        s = statement(row)
        (ours if own_tooling(s['query']) else statements).append(s)
    tables = raw.get('tables') or []
    indexes = raw.get('indexes') or []
    return dict(
        version=REPORT_VERSION, generated_at=meta.get('now'), database=meta.get('database'),
        server_version=meta.get('server_version'), stats_reset=meta.get('stats_reset'), thresholds=t,
        pg_stat_statements=raw.get('pg_stat_statements') or {},
        top_by_total_time=sorted(statements, key=lambda s: (-s['total_ms'], s['queryid']))[:top],
        top_by_mean_time=sorted(statements, key=lambda s: (-s['mean_ms'], s['queryid']))[:top],
        own_tooling_statements=sorted(ours, key=lambda s: (-s['total_ms'], s['queryid']))[:top],
        cache=cache_hit_ratios(raw.get('cache'), t),
        tables=sorted(tables, key=lambda r: -int(r.get('seq_tup_read') or 0))[:top],
        missing_index_candidates=missing_index_candidates(
            tables, statements, t['missing_index_min_rows'], t['missing_index_seq_share'], indexes),
        unused_indexes=unused_indexes(indexes), invalid_indexes=invalid_indexes(indexes),
        duplicate_indexes=duplicate_indexes(indexes), bloat=bloat_estimate(raw.get('bloat'), t),
        pgvector=dict(extension=meta.get('vector_version'), indexes=vector_indexes(indexes)),
        explain=raw.get('explain') or [], notices=raw.get('notices') or [], regressions=[], baseline=None)


# ---------------------------------------------------------------- regressions

def _statements_by_id(report):
    found = {}
    for key in ('top_by_total_time', 'top_by_mean_time'):
        for s in (report or {}).get(key) or []:
            found[str(s.get('queryid'))] = s
    return found


def _regression(kind, name, message):
    return dict(kind=kind, name=name, message=message)


def statement_regressions(baseline, current, t):
    before, found = _statements_by_id(baseline), []
    for queryid, s in sorted(_statements_by_id(current).items()):
        b = before.get(queryid)
        if not b or int(s.get('calls') or 0) < t['min_calls'] or int(b.get('calls') or 0) < t['min_calls']:
            continue
        old, new = float(b.get('mean_ms') or 0), float(s.get('mean_ms') or 0)
        if new - old < t['mean_time_floor_ms'] or (old and (new - old) / old * 100 <= t['mean_time_pct']):
            continue
        found.append(_regression('statement', queryid, 'mean time %.2f ms -> %.2f ms (%s, %d calls): %s' % (
            old, new, '+%.0f %%' % ((new - old) / old * 100) if old else 'was 0', int(s.get('calls') or 0),
            _one_line(s.get('query'), 200))))
    return found


def cache_regressions(baseline, current, t):
    found = []
    before = (baseline or {}).get('cache') or {}
    for name, target in (('table', t['table_hit_min']), ('index', t['index_hit_min'])):
        c = (current.get('cache') or {}).get(name) or {}
        judged = int(c.get('hit') or 0) + int(c.get('read') or 0) >= t['cache_min_blocks']
        if c.get('ratio') is None or not judged or c['ratio'] >= target:
            continue
        was = (before.get(name) or {}).get('ratio')
        found.append(_regression('cache', name + '_hit_ratio', '%s cache hit ratio %.4f is below %.2f%s' % (
            name, c['ratio'], target, '' if was is None else ' (baseline %.4f)' % was)))
    return found


def seq_scan_regressions(baseline, current):
    known = set(c['table'] for c in (baseline or {}).get('missing_index_candidates') or [])
    return [_regression('seq_scan', c['table'], '%s is now read by sequential scans (%.0f %% of its scans, %d rows '
                        'read)%s' % (c['table'], 100 * c['seq_share'], c['seq_tup_read'],
                                     '; index candidates: ' + ', '.join(c['columns']) if c['columns'] else ''))
            for c in current.get('missing_index_candidates') or [] if c['table'] not in known]


def diff(baseline, current, thresholds=None):
    """Regressions of the current report against a baseline report: [{kind, name, message}] - statements (by
    queryid) whose mean time rose by more than mean_time_pct and at least mean_time_floor_ms with min_calls calls
    in both, cache hit ratios below their targets, tables newly dominated by sequential scans."""
    t = dict(THRESHOLDS, **(thresholds or {}))
    return statement_regressions(baseline, current, t) + cache_regressions(baseline, current, t) + \
        seq_scan_regressions(baseline, current)


# ---------------------------------------------------------------- Markdown

def human_bytes(n):
    n = float(n or 0)
    for unit in ('B', 'kB', 'MB', 'GB'):
        if abs(n) < 1024:
            return '%.0f %s' % (n, unit) if unit == 'B' else '%.1f %s' % (n, unit)
        n /= 1024
    return '%.1f TB' % n


def _one_line(text, limit=QUERY_CHARS):
    text = ' '.join(('' if text is None else str(text)).split())
    return text if len(text) <= limit else text[:limit - 1] + '…'


def _cell(value):
    if value is None:
        return ''
    if isinstance(value, float):
        value = '%.2f' % value
    return _one_line(value).replace('|', '\\|')


def _table(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    lines += ['| ' + ' | '.join(_cell(v) for v in row) + ' |' for row in rows]
    return lines


def _section(title, lines, empty):
    return ['', '## ' + title, ''] + (lines or [empty])


def _pct(ratio):
    return '' if ratio is None else '%.2f %%' % (100 * ratio)


def _statement_rows(statements):
    return [(n, s['queryid'], s['calls'], s['total_ms'], s['mean_ms'], s['rows'], _pct(s['hit_ratio']),
             '`%s`' % _one_line(s['query']).replace('`', "'")) for n, s in enumerate(statements, 1)]


def _statement_sections(report):
    pss = report.get('pg_stat_statements') or {}
    headers = ('#', 'queryid', 'calls', 'total ms', 'mean ms', 'rows', 'cache hit', 'query')
    empty = 'No statements (pg_stat_statements %s).' % ('is empty' if pss.get('available') else 'is not available')
    return (_section('Top statements by total time', _table(headers, _statement_rows(report['top_by_total_time']))
                     if report['top_by_total_time'] else [], empty)
            + _section('Top statements by mean time', _table(headers, _statement_rows(report['top_by_mean_time']))
                       if report['top_by_mean_time'] else [], empty)
            + (_section("This collection's own statements (tuning, db_owner, psql; not ranked above)",
                        _table(headers, _statement_rows(report['own_tooling_statements'])), '')
               if report.get('own_tooling_statements') else []))


def _cache_section(report):
    rows = [(name, _pct(c['ratio']), _pct(c['target']), c['hit'], c['read'],
             'ok' if c['ok'] and c['judged'] else ('not judged (too few blocks)' if c['ok'] else 'LOW'))
            for name, c in sorted(report['cache'].items(), reverse=True)]
    return _section('Cache hit ratios', _table(('', 'ratio', 'target', 'blocks hit', 'blocks read', 'status'), rows),
                    '')


def _index_sections(report):
    missing = [(c['table'], c['seq_scan'], c['idx_scan'], _pct(c['seq_share']), c['seq_tup_read'], c['n_live_tup'],
                ', '.join(c['columns']) or '(no predicate seen)', ', '.join(c['indexed_columns']))
               for c in report['missing_index_candidates']]
    index_headers = ('table', 'index', 'size', 'scans', 'definition')
    unused = [(i['table'], i['name'], human_bytes(i['size_bytes']), i['idx_scan'], i['definition'])
              for i in report['unused_indexes']]
    invalid = [(i['table'], i['name'], human_bytes(i['size_bytes']), i['idx_scan'], i['definition'])
               for i in report['invalid_indexes']]
    dupes = [(d['table'], d['name'], human_bytes(d['size_bytes']), d['covered_by'], d['reason'], d['definition'])
             for d in report['duplicate_indexes']]
    return (_section('Missing index candidates', _table(
        ('table', 'seq scans', 'index scans', 'seq share', 'rows read by seq scans', 'live rows', 'columns to index',
         'already leading an index'), missing) if missing else [], 'No table is dominated by sequential scans.')
        + _section('Unused indexes', _table(index_headers, unused) if unused else [],
                   'None (since the statistics were reset%s).' % (
                       ' at %s' % report['stats_reset'] if report.get('stats_reset') else ''))
        + _section('Invalid indexes', _table(index_headers, invalid) if invalid else [], 'None.')
        + _section('Duplicate indexes', _table(('table', 'index', 'size', 'covered by', 'why', 'definition'), dupes)
                   if dupes else [], 'None.'))


def _bloat_section(report):
    rows = [(b['table'], human_bytes(b['size_bytes']), human_bytes(b['toast_bytes']),
             '' if b['expected_bytes'] is None else human_bytes(b['expected_bytes']),
             '' if b['bloat_bytes'] is None else human_bytes(b['bloat_bytes']), _pct(b['bloat_ratio']),
             b['n_dead_tup'], _pct(b['dead_share']), b['last_autovacuum'], '; '.join(b['problems']) or 'ok')
            for b in report['bloat']]
    return _section('Bloat of the execution tables', _table(
        ('table', 'heap', 'toast', 'expected heap', 'bloat', 'bloat %', 'dead tuples', 'dead %', 'last autovacuum',
         'status'), rows) if rows else [], 'None of n8n\'s execution tables is there.')


def _vector_section(report):
    vec = report.get('pgvector') or {}
    if not vec.get('extension'):
        return _section('pgvector', [], 'The vector extension is not installed in this database.')
    rows = [(v['table'], v['name'], v['method'], v.get('lists', ''), v.get('m', ''), v.get('ef_construction', ''),
             human_bytes(v['size_bytes']), v['idx_scan']) for v in vec['indexes']]
    return _section('pgvector (%s)' % vec['extension'], _table(
        ('table', 'index', 'method', 'lists', 'm', 'ef_construction', 'size', 'scans'), rows) if rows else [],
        'No hnsw or ivfflat index.')


def _explain_section(report):
    lines = []
    for e in report.get('explain') or []:
        lines += ['```sql', e['sql'].strip(), '```', '', '```', e['plan'].rstrip(), '```', '']
    return _section('EXPLAIN (ANALYZE, BUFFERS)', lines, 'No statement was given to explain.')


def _regression_section(report):
    if not report.get('baseline'):
        return _section('Regressions against the baseline', [], 'No baseline was given.')
    rows = [(r['kind'], r['name'], r['message']) for r in report.get('regressions') or []]
    return _section('Regressions against the baseline (%s)' % report['baseline'].get('generated_at'),
                    _table(('kind', 'name', 'what'), rows) if rows else [], 'None.')


def render_markdown(report):
    lines = ['# PostgreSQL report: %s' % report.get('database'), '',
             'PostgreSQL %s, %s; statistics since %s.' % (report.get('server_version'), report.get('generated_at'),
                                                          report.get('stats_reset') or 'the server started')]
    notices = list(report.get('notices') or [])
    if notices:
        lines += [''] + ['> ' + n for n in notices]
    lines += _statement_sections(report) + _cache_section(report) + _index_sections(report)
    lines += _bloat_section(report) + _vector_section(report) + _explain_section(report)
    lines += _regression_section(report)
    return '\n'.join(lines) + '\n'

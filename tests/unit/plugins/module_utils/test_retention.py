import pytest

from ansible_collections.n8n_ops.stack.plugins.module_utils.retention import parse_name, select


def good(*names):
    return [(n, True) for n in names]


def test_newest_good_always_kept_even_with_zero_rules():
    r = select(good('20261120_010000', '20261121_010000'), keep_daily=0)
    assert r['keep'] == ['20261121_010000']
    assert r['delete'] == ['20261120_010000']
    assert r['newest_good'] == '20261121_010000'
    assert 'newest good' in r['reasons']['20261121_010000']


def test_daily_keeps_newest_of_each_day():
    sets = good('20261121_010000', '20261121_230000', '20261122_010000', '20261122_120000')
    r = select(sets, keep_daily=2)
    assert r['keep'] == ['20261121_230000', '20261122_120000']
    assert r['delete'] == ['20261121_010000', '20261122_010000']


def test_daily_counts_days_with_good_sets_not_calendar_days():
    sets = good('20261101_010000', '20261110_010000', '20261120_010000')
    r = select(sets, keep_daily=2)
    assert r['keep'] == ['20261110_010000', '20261120_010000']


def test_weekly_keeps_newest_of_iso_week():
    # 2026-11-16 (Mon) .. 2026-11-22 (Sun) is ISO week 47; 2026-11-23 starts week 48
    sets = good('20261116_010000', '20261122_230000', '20261123_010000')
    r = select(sets, keep_daily=0, keep_weekly=2)
    assert r['keep'] == ['20261122_230000', '20261123_010000']
    assert 'weekly 2026-W47' in r['reasons']['20261122_230000']


def test_weekly_uses_iso_year_at_year_boundary():
    # 2026-12-31 (Thu) and 2027-01-01 (Fri) are both in ISO week 2026-W53
    r = select(good('20261231_010000', '20270101_010000'), keep_daily=0, keep_weekly=1)
    assert r['keep'] == ['20270101_010000']
    assert 'weekly 2026-W53' in r['reasons']['20270101_010000']


def test_monthly_keeps_newest_of_month():
    sets = good('20260901_010000', '20260930_010000', '20261015_010000', '20261101_010000')
    r = select(sets, keep_daily=0, keep_monthly=3)
    assert r['keep'] == ['20260930_010000', '20261015_010000', '20261101_010000']
    assert r['delete'] == ['20260901_010000']


def test_rules_combine_as_union_with_all_reasons():
    sets = good('20261031_010000', '20261101_010000', '20261102_010000')
    r = select(sets, keep_daily=1, keep_monthly=2)
    assert r['keep'] == ['20261031_010000', '20261102_010000']
    assert 'daily 2026-11-02' in r['reasons']['20261102_010000']
    assert 'monthly 2026-11' in r['reasons']['20261102_010000']
    assert 'monthly 2026-10' in r['reasons']['20261031_010000']


def test_incomplete_never_counted_for_retention():
    sets = [('20261120_010000', True), ('20261121_010000', False), ('20261122_010000', True)]
    r = select(sets, keep_daily=2)
    # two days with *good* sets: 20th and 22nd; the incomplete 21st does not use up a slot
    assert '20261120_010000' in r['keep']
    assert '20261122_010000' in r['keep']
    assert '20261121_010000' in r['delete']


def test_incomplete_newer_than_newest_good_is_kept():
    sets = [('20261122_010000', True), ('20261123_010000', False)]
    r = select(sets, keep_daily=1)
    assert r['keep'] == ['20261122_010000', '20261123_010000']
    assert 'in progress' in r['reasons']['20261123_010000']


def test_incomplete_older_kept_when_prune_incomplete_off():
    sets = [('20261121_010000', False), ('20261122_010000', True)]
    r = select(sets, keep_daily=1, prune_incomplete=False)
    assert r['delete'] == []


def test_no_good_set_deletes_nothing():
    r = select([('20261121_010000', False), ('20261122_010000', False)], keep_daily=0)
    assert r['delete'] == []
    assert r['newest_good'] is None


def test_bad_names_ignored_never_deleted():
    sets = [('lost+found', True), ('20261301_010000', True), ('latest', False), ('20261122_010000', True)]
    r = select(sets, keep_daily=0)
    assert r['ignored'] == ['lost+found', '20261301_010000', 'latest']
    assert r['keep'] == ['20261122_010000'] and r['delete'] == []


def test_accepts_dicts():
    r = select([{'name': '20261122_010000', 'good': True, 'path': '/x'}], keep_daily=1)
    assert r['keep'] == ['20261122_010000']


@pytest.mark.parametrize('arg', ['keep_daily', 'keep_weekly', 'keep_monthly'])
def test_negative_counts_rejected(arg):
    with pytest.raises(ValueError, match=arg + ' must be >= 0'):
        select([], **{arg: -1})


def test_non_integer_count_rejected():
    with pytest.raises(ValueError, match='keep_daily must be an integer'):
        select([], keep_daily='7')


def test_parse_name():
    assert parse_name('20261123_020304').hour == 2
    assert parse_name('20261123-020304') is None
    assert parse_name('20260230_000000') is None
    assert parse_name(None) is None

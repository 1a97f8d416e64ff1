import pytest

from datetime import timedelta

from ansible_collections.n8n_ops.stack.plugins.module_utils.retention import parse_duration, parse_name, select

A = 'a' * 64
B = 'b' * 64


def good(*names):
    return [(n, True) for n in names]


def of(instance, *names, **extra):
    return [dict(name=n, good=True, instance_id=instance, **extra) for n in names]


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


@pytest.mark.parametrize('arg', ['keep_daily', 'keep_weekly', 'keep_monthly', 'keep_last'])
def test_negative_counts_rejected(arg):
    with pytest.raises(ValueError, match=arg + ' must be >= 0'):
        select([], **{arg: -1})


@pytest.mark.parametrize('value', ['7', 7.0, True, None])
def test_non_integer_count_rejected(value):
    with pytest.raises(ValueError, match='keep_daily must be an integer'):
        select([], keep_daily=value)


def test_parse_name():
    assert parse_name('20261123_020304').hour == 2
    assert parse_name('20261123-020304') is None
    assert parse_name('20260230_000000') is None
    assert parse_name(None) is None


# ---------------------------------------------------------------- per-instance retention

def test_new_instance_backup_does_not_prune_previous_instance():
    # instance A backed up, fresh deploy with a new key (B), the nightly run backs up B the same day
    sets = of(A, '20261122_020000') + of(B, '20261122_030000')
    r = select(sets, keep_daily=1)
    assert r['delete'] == []
    assert 'newest good set of instance aaaaaaaaaaaa' in r['reasons']['20261122_020000']
    assert r['newest_good'] == '20261122_030000'
    assert r['newest_good_by_instance'] == {A: '20261122_020000', B: '20261122_030000'}


def test_unknown_instance_is_its_own_group():
    sets = good('20261120_020000') + of(A, '20261121_020000')
    r = select(sets, keep_daily=0)
    assert r['delete'] == []
    assert r['newest_good_by_instance'] == {'unknown': '20261120_020000', A: '20261121_020000'}
    assert 'instance unknown' in r['reasons']['20261120_020000']


def test_rules_apply_per_instance():
    sets = of(A, '20261120_020000', '20261121_020000', '20261122_020000') + of(B, '20261122_030000')
    r = select(sets, keep_daily=2)
    assert r['keep'] == ['20261121_020000', '20261122_020000', '20261122_030000']
    assert r['delete'] == ['20261120_020000']


def test_keep_last_keeps_manual_set_taken_the_same_day():
    # a manual pre-upgrade set at 09:30 and the nightly one at 23:00 on the same day
    r = select(of(A, '20261121_020000', '20261122_093000', '20261122_230000'), keep_daily=1, keep_last=2)
    assert r['keep'] == ['20261122_093000', '20261122_230000']
    assert 'last 2' in r['reasons']['20261122_093000']


def test_keep_last_per_instance():
    sets = of(A, '20261120_020000', '20261121_020000') + of(B, '20261122_020000', '20261123_020000')
    r = select(sets, keep_daily=0, keep_last=1)
    assert r['keep'] == ['20261121_020000', '20261123_020000']


def test_keep_within_relative_to_newest_set_of_same_instance():
    # A stopped backing up on the 10th; its sets do not expire because B goes on
    sets = of(A, '20261101_020000', '20261109_020000', '20261110_020000') + of(B, '20261120_020000', '20261122_020000')
    r = select(sets, keep_daily=0, keep_within='1d12h')
    assert r['keep'] == ['20261109_020000', '20261110_020000', '20261122_020000']
    assert r['delete'] == ['20261101_020000', '20261120_020000']
    assert 'within 1d12h of 20261110_020000' in r['reasons']['20261109_020000']


def test_keep_within_boundary_is_inclusive():
    r = select(good('20261120_020000', '20261121_020000', '20261121_020001'), keep_daily=0, keep_within='24h')
    assert r['keep'] == ['20261121_020000', '20261121_020001']
    assert r['delete'] == ['20261120_020000']
    r = select(good('20261120_020000', '20261121_020000'), keep_daily=0, keep_within='24h')
    assert r['delete'] == []


@pytest.mark.parametrize('rule', [dict(), dict(keep_last=1), dict(keep_within='1h'), dict(keep_daily=1),
                                  dict(keep_weekly=1), dict(keep_monthly=1), dict(prune_other_instances=True)])
def test_pinned_set_survives_every_rule(rule):
    sets = (of(A, '20250101_020000', pinned=True) + [dict(name='20250102_020000', good=False, pinned=True)]
            + of(A, '20261120_020000', '20261122_020000'))
    r = select(sets, **dict(dict(keep_daily=0, current_instance=B), **rule))
    assert '20250101_020000' in r['keep'] and '20250102_020000' in r['keep']
    assert r['reasons']['20250101_020000'].startswith('keep: pinned')
    assert r['reasons']['20250102_020000'] == 'keep: pinned'
    assert '20261120_020000' in r['delete']


def test_prune_other_instances_protects_only_current():
    sets = of(A, '20261101_020000', '20261110_020000') + of(B, '20261120_020000')
    r = select(sets, keep_daily=0, prune_other_instances=True, current_instance=B)
    assert r['keep'] == ['20261120_020000']
    assert r['delete'] == ['20261101_020000', '20261110_020000']
    assert r['newest_good_by_instance'][A] == '20261110_020000'


def test_prune_other_instances_still_applies_rules_per_group():
    sets = of(A, '20261101_020000', '20261110_020000') + of(B, '20261120_020000', '20261121_020000')
    r = select(sets, keep_daily=1, prune_other_instances=True, current_instance=B)
    assert r['keep'] == ['20261110_020000', '20261121_020000']
    assert r['reasons']['20261110_020000'] == 'keep: daily 2026-11-10'


def test_prune_other_instances_needs_current_instance():
    with pytest.raises(ValueError, match='prune_other_instances needs current_instance'):
        select([], prune_other_instances=True)


def test_current_instance_alone_changes_nothing():
    sets = of(A, '20261110_020000') + of(B, '20261120_020000')
    assert select(sets, keep_daily=0, current_instance=B)['delete'] == []


def test_incomplete_judged_against_newest_good_of_any_instance():
    sets = (of(A, '20261120_020000') + [('20261121_020000', False), ('20261123_020000', False)]
            + of(B, '20261122_020000'))
    r = select(sets, keep_daily=1)
    assert r['delete'] == ['20261121_020000']
    assert 'in progress' in r['reasons']['20261123_020000']


def test_empty_instance_id_is_unknown():
    r = select([dict(name='20261122_020000', good=True, instance_id='')])
    assert r['newest_good_by_instance'] == {'unknown': '20261122_020000'}


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(keep_within='7'), 'keep_within'),
    (dict(keep_within='7x'), 'keep_within'),
    (dict(keep_within='-1d'), 'keep_within'),
    (dict(keep_within=' 7d'), 'keep_within'),
    (dict(keep_within=7), 'keep_within must be a string'),
    (dict(keep_within=None), 'keep_within must be a string'),
    (dict(current_instance=5), 'current_instance must be a string'),
    (dict(prune_other_instances=True, current_instance=''), 'needs current_instance'),
])
def test_invalid_inputs_rejected(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        select([], **kwargs)


def test_non_string_instance_id_rejected():
    with pytest.raises(ValueError, match='instance_id'):
        select([dict(name='20261122_020000', good=True, instance_id=5)])


@pytest.mark.parametrize('text, expected', [
    ('36h', timedelta(hours=36)), ('7d', timedelta(days=7)), ('2w', timedelta(days=14)),
    ('3m', timedelta(days=90)), ('1y', timedelta(days=365)), ('1d12h', timedelta(hours=36)),
    ('1y2m3w4d5h', timedelta(days=365 + 60 + 21 + 4, hours=5)), ('0h', timedelta(0)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize('text', ['', '7', 'd', '7 d', '1.5d', '-1d', '7D', '1s', '7d ', '7d\n', '1d1d', '٣d', None, 7,
                                  '99999999999y'])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_huge_keep_within_keeps_everything():
    r = select(good('00010101_000000', '20261122_020000'), keep_daily=0, keep_within='3000y')
    assert r['delete'] == []

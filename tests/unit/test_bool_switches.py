"""Every boolean role variable is read through `| bool` wherever Jinja evaluates it.

`-e pg_tuning_search=true` on the command line gives the string 'true': a bare `when: pg_tuning_search` fails with
"Conditionals must have a boolean result", and a bare `{% if x %}` / `'a' if x else 'b'` takes the string 'false'
as true. The argument specs' type (bool) names the switches; tasks, handlers and templates are scanned.
"""
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONDITION_KEYS = ('when', 'that', 'failed_when', 'changed_when', 'until')
JINJA = re.compile(r'{{(.*?)}}|{%(.*?)%}', re.S)


def bool_switches():
    for spec in sorted(ROOT.glob('roles/*/meta/argument_specs.yml')):
        doc = yaml.safe_load(spec.read_text())
        for entry in doc['argument_specs'].values():
            for name, option in entry.get('options', {}).items():
                if option.get('type') == 'bool':
                    yield spec.parts[-3], name


SWITCHES = sorted(set(bool_switches()))


def expressions(node, key=None):
    """Jinja expressions of a task file: conditions whole, other strings by their {{ }} and {% %} blocks."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from expressions(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from expressions(v, key)
    elif isinstance(node, str):
        if key in CONDITION_KEYS:
            yield node
        else:
            yield from (a or b for a, b in JINJA.findall(node))


def sources():
    for path in sorted(ROOT.glob('roles/*/tasks/*.yml')) + sorted(ROOT.glob('roles/*/handlers/*.yml')) \
            + sorted(ROOT.glob('playbooks/*.yml')):
        for expr in expressions(yaml.safe_load(path.read_text())):
            yield path, expr
    for path in sorted(ROOT.glob('roles/*/templates/*.j2')):
        for a, b in JINJA.findall(path.read_text()):
            yield path, a or b


SOURCES = list(sources())


def bare_uses(name, expr):
    """Uses of `name` in one expression that are not followed by `| bool`."""
    return [m.start() for m in re.finditer(r'(?<![\w.])%s\b(?!\s*\|\s*bool\b)(?!\s*[:=])' % re.escape(name), expr)]


def test_the_specs_name_switches():
    assert ('pg_tuning', 'pg_tuning_search') in SWITCHES and len(SWITCHES) >= 10


@pytest.mark.parametrize('role,name', SWITCHES)
def test_switch_is_read_as_bool(role, name):
    bare = ['%s: %s' % (path.relative_to(ROOT), ' '.join(expr.split())) for path, expr in SOURCES
            if bare_uses(name, expr)]
    assert bare == [], '%s is read without | bool (a CLI -e %s=true is a string)' % (name, name)


@pytest.mark.parametrize('expr,bare', [
    ('pg_tuning_search', True),
    ('pg_tuning_search | bool and x', False),
    ("'a' if pg_tuning_search else 'b'", True),
    ('not pg_tuning_search|bool', False),
    ('pg_tuning_search_file.content is defined', False),
])
def test_bare_use_detection(expr, bare):
    assert bool(bare_uses('pg_tuning_search', expr)) is bare

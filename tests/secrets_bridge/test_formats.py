"""Format rules: published formats reject, inferred ones only warn, pasted junk is named exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secrets_bridge.catalog import CATALOG
from secrets_bridge.formats import check_format
from tests.support.secrets_project import CANARIES

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize("name", list(CANARIES))
def test_canaries_are_well_formed(name):
    assert check_format(name, CANARIES[name]).status == "ok"


@pytest.mark.parametrize("value, kind", [
    ("ghp_" + "a" * 36, "classic"),
    ("github_pat_" + "A_1" * 27 + "x", "fine-grained"),
    ("gho_" + "b" * 36, "OAuth"),
    ("ghu_" + "c" * 36, "user-to-server"),
    ("ghs_" + "d" * 36, "installation"),
    ("ghr_" + "e" * 36, "refresh"),
])
def test_github_published_formats_pass(value, kind):
    verdict = check_format("GITHUB_TOKEN", value)
    assert verdict.status == "ok" and kind in verdict.message


@pytest.mark.parametrize("value", ["ghp_" + "a" * 35, "ghp_" + "a" * 37, "github_pat_" + "a" * 81,
                                   "ghp_" + "a" * 35 + "-", "token123"])
def test_github_values_breaking_the_published_format_are_errors(value):
    assert check_format("GH_TOKEN", value).status == "error"  # aliases use the same rule


def test_old_40_hex_github_token_only_warns():
    assert check_format("GITHUB_TOKEN", "0123456789abcdef" * 2 + "01234567").status == "warn"


@pytest.mark.parametrize("value, status", [
    ("sk-proj-" + "a" * 20 + "T3BlbkFJ" + "b" * 20, "ok"),
    ("sk-svcacct-" + "a_-" * 20 + "T3BlbkFJ" + "b" * 20, "ok"),
    ("sk-admin-" + "a" * 20 + "T3BlbkFJ" + "b" * 20, "ok"),
    ("sk-" + "a" * 20 + "T3BlbkFJ" + "b" * 20, "ok"),        # legacy user key, as gitleaks knows it
    ("sk-proj-" + "a" * 60, "warn"),                            # no marker: inference, not a rule
    ("sk-" + "a" * 48, "warn"),
    ("sk-proj-abc def", "error"),
    ("pk-" + "a" * 40, "error"),                                # OpenAI keys start with sk-
])
def test_openai(value, status):
    assert check_format("OPENAI_API_KEY", value).status == status


@pytest.mark.parametrize("name, good, odd", [
    ("VERCEL_TOKEN", "A" * 24, "A" * 23),
    ("LAMBDA_API_KEY", "secret_abc-123.def456", "abc123"),
])
def test_inferred_formats_warn_and_never_reject(name, good, odd):
    assert check_format(name, good).status == "ok"
    verdict = check_format(name, odd)
    assert verdict.status == "warn" and "inferred" in verdict.message


def test_portkey_has_no_format_so_inner_whitespace_only_warns():
    assert check_format("PORTKEY_API_KEY", "anything-at-all").status == "ok"
    assert check_format("PORTKEY_API_KEY", "two words").status == "warn"


@pytest.mark.parametrize("suffix_or_wrap, message", [
    (lambda v: v + "\n", "ends with a newline"),
    (lambda v: v + "\r", "ends with a carriage return"),
    (lambda v: v + " ", "ends with a space"),
    (lambda v: "\t" + v, "starts with a tab"),
    (lambda v: f'"{v}"', "wrapped in double quotes"),
    (lambda v: f"'{v}'", "wrapped in single quotes"),
    (lambda v: v[:10] + "\n" + v[10:], "contains a newline inside"),
    (lambda v: "", "is empty"),
])
@pytest.mark.parametrize("name", [*CANARIES, "PULUMI_CONFIG_PASSPHRASE"])
def test_pasted_junk_is_an_error_saying_exactly_what(name, suffix_or_wrap, message):
    value = CANARIES.get(name, "some-long-passphrase")
    verdict = check_format(name, suffix_or_wrap(value))
    assert verdict.status == "error"
    assert message in verdict.message


_printable_key = st.text(alphabet=ALNUM + "_-.", min_size=12, max_size=120)


@given(name=st.sampled_from([spec.name for spec in CATALOG]), value=_printable_key)
def test_no_verdict_ever_contains_the_value(name, value):
    assert value not in check_format(name, value).message
    assert value not in check_format(name, value + "\n").message


@given(name=st.sampled_from([spec.name for spec in CATALOG]), value=_printable_key,
       junk=st.sampled_from(["\n", " ", "\t", "\r\n"]))
def test_trailing_whitespace_is_never_accepted(name, value, junk):
    assert check_format(name, value + junk).status == "error"


@given(value=_printable_key)
def test_unknown_names_get_only_the_paste_checks(value):
    assert check_format("PULUMI_CONFIG_PASSPHRASE", value).status == "ok"

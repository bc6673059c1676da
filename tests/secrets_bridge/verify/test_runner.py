"""What is decided before anything is sent, and how a batch of checks runs."""

from __future__ import annotations

from secrets_bridge.verify import ApiUrls, verify_all_sync
from tests.support.verify_apis import CANARY, VALID_ROUTES, FakeApi, fake_apis


def test_missing_and_malformed_values_are_never_sent():
    values = {name: None for name in VALID_ROUTES}
    values["GITHUB_TOKEN"] = CANARY["GITHUB_TOKEN"] + "\n"     # a pasted newline: malformed
    values["OPENAI_API_KEY"] = "pk-" + CANARY["OPENAI_API_KEY"]  # not an OpenAI key
    values["VERCEL_TOKEN"] = ""
    with fake_apis() as (servers, urls):
        results = verify_all_sync(values, urls=urls, timeout=5, lambda_pace_s=0)
    verdicts = {r.name: r.verdict for r in results}
    assert verdicts == {"LAMBDA_API_KEY": "missing", "GITHUB_TOKEN": "malformed", "VERCEL_TOKEN": "missing",
                        "OPENAI_API_KEY": "malformed", "PORTKEY_API_KEY": "missing"}
    assert all(api.seen == [] for api in servers.values())
    assert all(r.recommendation for r in results)


def test_a_format_warning_is_still_verified_and_reported():
    path, routes = VALID_ROUTES["VERCEL_TOKEN"]
    with FakeApi(routes) as api:
        [result] = verify_all_sync({"VERCEL_TOKEN": "not-the-usual-shape-token"}, urls=ApiUrls(vercel=api.url), timeout=5)
    assert result.verdict == "valid"
    assert "format:" in result.detail
    assert [s.path for s in api.seen] == [path]


def test_results_follow_the_order_asked_and_skip_names_without_a_check():
    order = ["PORTKEY_API_KEY", "PULUMI_CONFIG_PASSPHRASE", "LAMBDA_API_KEY", "GITHUB_TOKEN",
             "OPENAI_API_KEY", "VERCEL_TOKEN"]
    values = {name: CANARY.get(name, "a-passphrase") for name in order}
    with fake_apis() as (_, urls):
        results = verify_all_sync(values, urls=urls, timeout=5, lambda_pace_s=0)
    assert [r.name for r in results] == [n for n in order if n != "PULUMI_CONFIG_PASSPHRASE"]
    assert {r.verdict for r in results} == {"valid"}


def test_api_urls_from_env_strip_trailing_slashes_and_fall_back_to_defaults():
    urls = ApiUrls.from_env({"ORCHESTRA_GITHUB_API_URL": "http://127.0.0.1:9/", "ORCHESTRA_OPENAI_API_URL": ""})
    assert urls.github == "http://127.0.0.1:9"
    assert urls.openai == "https://api.openai.com"
    assert urls.lambda_cloud == "https://cloud.lambda.ai"
    assert urls.portkey == "https://api.portkey.ai"


def test_a_value_no_header_can_carry_is_malformed_and_not_sent():
    path, routes = VALID_ROUTES["PORTKEY_API_KEY"]
    with FakeApi(routes) as api:
        results = verify_all_sync({"PORTKEY_API_KEY": "CanaryPortkey\u00e9\u0000x"}, urls=ApiUrls(portkey=api.url), timeout=5)
    # The same verdict `set` gives (formats.check_format), so set and verify never disagree.
    assert [r.verdict for r in results] == ["malformed"]
    assert "invisible or control character (U+0000)" in results[0].detail
    assert api.seen == []

"""mask, scrub (the last line of defence for messages) and run's stream masker."""

from __future__ import annotations

import random

import pytest

from secrets_bridge.cli.run import Masker
from secrets_bridge.masking import looks_like_key, mask, scrub
from tests.support.secrets_project import CANARIES


@pytest.mark.parametrize("value", list(CANARIES.values()))
def test_scrub_masks_every_catalog_shaped_value_in_a_message(value):
    text = scrub(f"error: unknown key {value!r} in /tmp/x/.secrets.production.json")
    assert value not in text and mask(value) in text
    assert "/tmp/x/.secrets.production.json" in text


@pytest.mark.parametrize("word", ["ORCHESTRA_MASTER_KEY_FILE", "production", "/tmp/pytest-of-root/pytest-3/test_x0",
                                  "sha256:1a2b3c4d5e6f", "secrets-bridge", "PULUMI_CONFIG_PASSPHRASE",
                                  "test_stale_temp_files_of_this_0", "https://cloud.lambda.ai/api-keys"])
def test_scrub_leaves_names_paths_and_urls_alone(word):
    assert not looks_like_key(word) and scrub(f"see {word}") == f"see {word}"


def test_scrub_masks_known_values_whatever_their_shape():
    assert scrub("db is hunter2-plain", known=["hunter2-plain"]) == f"db is {mask('hunter2-plain')}"


def test_the_stream_masker_catches_values_split_at_every_position():
    values = [CANARIES["GITHUB_TOKEN"], CANARIES["OPENAI_API_KEY"], "short-ab"]
    text = f"a {values[0]} b {values[1]}{values[2]} c {values[0][:-1]} end".encode()
    expected = text
    for value in sorted(values, key=len, reverse=True):
        expected = expected.replace(value.encode(), mask(value).encode())
    rng = random.Random(7)
    for _ in range(200):
        masker, out, rest = Masker(values), b"", text
        while rest:
            cut = rng.randint(1, 12)
            out += masker.feed(rest[:cut])
            rest = rest[cut:]
        out += masker.flush()
        assert out == expected


def test_the_stream_masker_holds_back_only_what_could_grow_into_a_value():
    masker = Masker([CANARIES["GITHUB_TOKEN"]])
    assert masker.feed(b"progress 50%\n") == b"progress 50%\n"
    assert masker.feed(b"token ghp_Ca") == b"token "
    assert masker.feed(b"t\n") == b"ghp_Cat\n"

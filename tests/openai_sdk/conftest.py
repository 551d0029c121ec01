"""Fixtures for the official `openai` SDK against a live Arcanos server and its fake model.

scripts/openai-sdk-check.sh starts both and passes their addresses in ARCANOS_URL, ARCANOS_MOCK_URL and
ARCANOS_KEY; the server's chain is `primary` then `backup`.
"""

import json
import os
import time
import urllib.request

import openai
import pytest

ARCANOS_URL = os.environ.get("ARCANOS_URL", "http://127.0.0.1:18180")
MOCK_URL = os.environ.get("ARCANOS_MOCK_URL", "http://127.0.0.1:19190")
KEY = os.environ.get("ARCANOS_KEY", "sdk-check-key")


def mock(mode, model=None, retry_after=None):
    """Switches the fake model's behaviour (for every model, or for one)."""
    query = []
    if model:
        query.append(f"model={model}")
    if retry_after is not None:
        query.append(f"retryAfter={retry_after}")
    url = f"{MOCK_URL}/_mock/mode/{mode}" + ("?" + "&".join(query) if query else "")
    urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5).read()


def mock_requests():
    with urllib.request.urlopen(f"{MOCK_URL}/_mock", timeout=5) as response:
        return json.load(response)["requests"]


def make_client(**options):
    return openai.OpenAI(base_url=f"{ARCANOS_URL}/v1", api_key=KEY, **options)


@pytest.fixture
def client():
    return make_client(max_retries=0)


@pytest.fixture(autouse=True)
def healthy_model():
    """Every test starts and ends with both models answering and their breakers closed again."""
    yield
    mock("ok")
    probe = make_client(max_retries=0)
    deadline = time.monotonic() + 15
    # A success on each model resets its count of consecutive failures, so faults do not add up across tests.
    for model in ("primary", "backup"):
        while True:
            try:
                probe.chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}])
                break
            except openai.APIStatusError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

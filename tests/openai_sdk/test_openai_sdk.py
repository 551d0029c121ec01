"""The official `openai` Python SDK against Arcanos' OpenAI-compatible door (README "Use it from an
OpenAI SDK"), with the fake model playing each fault."""

import threading
import time

import openai
import pytest

from conftest import make_client, mock, mock_requests

MESSAGES = [{"role": "user", "content": "hello there"}]


def test_create_without_stream(client):
    completion = client.chat.completions.create(model="primary", messages=MESSAGES, temperature=0, max_tokens=20)
    assert completion.choices[0].message.content == "Mock answer to: hello there"
    assert completion.model == "primary"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_create_with_stream(client):
    stream = client.chat.completions.create(
        model="arcanos", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text = ""
    usage = None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        if chunk.usage:
            usage = chunk.usage
    assert text == "Mock answer to: hello there "
    assert usage is not None and usage.completion_tokens == 5  # one per streamed word


def test_models_list(client):
    assert [model.id for model in client.models.list()] == ["arcanos", "primary", "backup"]


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-does-not-exist", messages=MESSAGES)
    assert raised.value.code == "model_not_found"


def test_degraded_answer_is_an_api_status_error_with_the_reason(client):
    mock("error500")
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="primary", messages=MESSAGES)
    error = raised.value
    assert error.status_code == 503
    assert error.code == "server_error"
    assert error.response.headers["x-arcanos-degraded-reason"] == "server_error"
    assert int(error.response.headers["retry-after"]) >= 1


def test_sdk_retry_honours_retry_after():
    # Both models answer 429 with Retry-After: 2; Arcanos makes one attempt per model and passes the 429 on.
    mock("rate-limited", retry_after=2)
    before = mock_requests()
    client = make_client(max_retries=1)
    start = time.monotonic()
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="primary", messages=MESSAGES)
    elapsed = time.monotonic() - start
    assert raised.value.code == "rate_limited"
    assert raised.value.response.headers["retry-after"] == "2"
    # One retry by the SDK, after the 2 s Retry-After (its own backoff would be under 1 s): two calls,
    # each tried on both models.
    assert elapsed >= 2.0, elapsed
    assert mock_requests() - before == 4


def test_sdk_retry_recovers_after_retry_after():
    mock("rate-limited", retry_after=2)
    client = make_client(max_retries=2)
    # The model recovers while the SDK waits out Retry-After (switched as soon as the first call was
    # answered 429); the SDK's retry then succeeds.
    before = mock_requests()
    switched = threading.Event()

    def recover():
        deadline = time.monotonic() + 10
        while mock_requests() - before < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        mock("ok")
        switched.set()

    threading.Thread(target=recover, daemon=True).start()
    start = time.monotonic()
    completion = client.chat.completions.create(model="primary", messages=MESSAGES)
    assert switched.is_set()
    assert completion.choices[0].message.content == "Mock answer to: hello there"
    assert time.monotonic() - start >= 2.0


def test_cut_stream_raises(client):
    mock("stream-cut")
    stream = client.chat.completions.create(model="primary", messages=MESSAGES, stream=True)
    received = ""
    with pytest.raises(openai.APIError):
        for chunk in stream:
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    # The chunks before the cut arrived; the SDK raised instead of taking them for the whole answer.
    assert received == "Mock answer "


def test_stall_before_first_token_falls_back(client):
    mock("stall-first-token", model="primary")
    start = time.monotonic()
    stream = client.chat.completions.create(model="primary", messages=MESSAGES, stream=True)
    models = {chunk.model for chunk in stream}
    assert models == {"backup"}
    assert time.monotonic() - start < 5

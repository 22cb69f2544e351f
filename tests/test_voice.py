"""Voice: Deep Chat's recordings answered as the user's words, and `POST /v1/audio/transcriptions`, on real
gateway processes over fakes speaking each vendor's wire; the door driven by the official `openai` SDK."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import openai
import pytest
import websockets

from gateway.policy.attachments import audio_format
from tests import aio
from tests.conftest import OPENAI_KEY, StartGateway, openai_env
from tests.fakes import openai_upstream
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.openai_upstream import FakeOpenAI, form_parts
from tests.fakes.recordings import wav, webm
from tests.fakes.server import Hang
from tests.gateway_process import GatewayProcess, start_gateway
from tests.sse import STREAM_HEADERS, events

TOKEN = "voice-test-token"
SITE = "https://shop.example"
AUTH = {"authorization": f"Bearer {TOKEN}"}
HEARD = FakeOpenAI.transcript


@pytest.fixture(scope="module")
def echo() -> Iterator[GatewayProcess]:
    gateway = start_gateway(
        {
            "GATEWAY_API_KEYS": TOKEN,
            "GATEWAY_CORS_ORIGINS": SITE,
            "GATEWAY_ECHO_DELAY": "0",
            "GATEWAY_MAX_FILE_BYTES": "20000",
        }
    )
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def over_openai(fake_openai: FakeOpenAI) -> Iterator[GatewayProcess]:
    gateway = start_gateway(openai_env(fake_openai, GATEWAY_CONVERSATIONS="true"))
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


def say(
    gateway: GatewayProcess,
    files: list[tuple[str, bytes, str]],
    text: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A Deep Chat turn with attachments: `files` parts, and the newest message's text when it has some."""
    data = {"message1": json.dumps({"role": "user", "text": text})} if text else {}
    parts = [("files", file) for file in files]
    return httpx.post(gateway.url + "/chat", files=parts, data=data, headers=headers or AUTH, timeout=20)


def client(gateway: GatewayProcess, key: str = TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0, timeout=20)


def transcription_calls(fake: FakeOpenAI) -> list[openai_upstream.Received]:
    return [request for request in fake.requests if request.path.endswith("/audio/transcriptions")]


# --- a recording as the user's turn ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (webm()[:16], "audio/webm"),
        (wav()[:16], "audio/wav"),
        (b"OggS\0\2" + bytes(10), "audio/ogg"),
        (b"fLaC\0\0\0\x22" + bytes(8), "audio/flac"),
        (b"\0\0\0\x20ftypM4A " + bytes(4), "audio/mp4"),
        (b"ID3\4\0" + bytes(11), "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + bytes(12), "audio/mpeg"),  # an MPEG-1 layer III frame, no tag
        (b"\xff\xf1\x50\x80" + bytes(12), None),  # ADTS AAC: layer 0, which no endpoint named takes
        (b"RIFF\0\0\0\0AVI " + bytes(4), None),
        (b"", None),
    ],
)
def test_a_recordings_format_is_read_from_its_first_bytes(head: bytes, media_type: str | None) -> None:
    assert audio_format(head) == media_type


def test_echo_describes_a_recording_it_cannot_hear(echo: GatewayProcess) -> None:
    recording = wav()
    response = say(echo, [("voice.wav", recording, "audio/wav")])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "text": f"(audio: voice.wav, audio/wav, {len(recording)} bytes; echo does not transcribe)"
    }


def test_the_microphones_recording_is_typed_by_its_bytes_not_its_label(echo: GatewayProcess) -> None:
    # Deep Chat's microphone labels Chromium's WebM recording audio/mp3 and names it .mp3 (its default).
    recording = webm()
    response = httpx.post(
        echo.url + "/chat",
        files=[("files", ("audio-10-42-07.mp3", recording, "audio/mp3"))],
        headers={**AUTH, **STREAM_HEADERS},
        timeout=20,
    )
    text = "".join(event["text"] for event in events(response.text.split("\n")))
    assert (
        text == f"(audio: audio-10-42-07.mp3, audio/webm, {len(recording)} bytes; echo does not transcribe)"
    )


def test_text_with_a_recording_keeps_both(echo: GatewayProcess) -> None:
    response = say(echo, [("note.ogg", b"OggS" + bytes(100), "audio/ogg")], text="please listen")
    assert response.json()["text"].startswith("please listen\n(audio: note.ogg, audio/ogg, 104 bytes;")


@pytest.mark.parametrize(
    ("file", "status", "says"),
    [
        (("song.mp3", b"hello, not audio", "audio/mpeg"), 415, "'song.mp3' is not a recording"),
        (("long.wav", wav(seconds=2), "audio/wav"), 413, "'long.wav' is 31.3 KiB; the limit is 19.5 KiB"),
        (("clip.avi", b"RIFF\0\0\0\0AVI ", "video/x-msvideo"), 415, "a recording (WebM, WAV, MP3"),
    ],
)
def test_what_is_no_recording_or_too_long_is_refused_saying_so(
    echo: GatewayProcess, file: tuple[str, bytes, str], status: int, says: str
) -> None:
    response = say(echo, [file])
    assert response.status_code == status
    assert says in response.json()["error"]


def test_openai_hears_the_recording_and_answers_its_words(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    recording = wav()
    conversation = "voice-conversation-0123456789"
    response = say(
        over_openai,
        [("voice.wav", recording, "audio/wav")],
        headers={"x-conversation-id": conversation},
    )
    assert response.json() == {"text": "Hello, world!"}
    heard, answered = fake_openai.requests
    assert heard.path == "/v1/audio/transcriptions"
    assert heard.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    sent = form_parts(heard)
    assert sent["file"].value == recording
    assert (sent["file"].filename, sent["file"].content_type) == ("voice.wav", "audio/wav")
    assert sent["model"].value == b"gpt-4o-mini-transcribe"
    assert sent["response_format"].value == b"json"
    assert answered.json()["messages"][-1] == {"role": "user", "content": HEARD}
    history = httpx.get(
        over_openai.url + "/chat/history", headers={"x-conversation-id": conversation}, timeout=10
    ).json()["messages"]
    assert history == [{"role": "user", "text": HEARD}, {"role": "ai", "text": "Hello, world!"}]


def test_a_mislabelled_recording_reaches_openai_named_as_what_it_is(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    say(over_openai, [("audio-10-42-07.mp3", webm(), "audio/mp3")])
    sent = form_parts(transcription_calls(fake_openai)[0])["file"]
    assert (sent.filename, sent.content_type) == ("audio-10-42-07.webm", "audio/webm")


@pytest.mark.parametrize(
    ("reply", "status", "says"),
    [
        (openai_upstream.error(401, "Incorrect API key provided"), 502, "check OPENAI_API_KEY"),
        (openai_upstream.error(429, "Rate limit reached"), 429, "rate limiting this gateway"),
        (openai_upstream.transcription(""), 422, "No words were heard in 'voice.wav'"),
    ],
)
def test_speech_to_text_failures_are_the_providers_and_no_chat_call_follows(
    over_openai: GatewayProcess,
    fake_openai: FakeOpenAI,
    reply: openai_upstream.Reply,
    status: int,
    says: str,
) -> None:
    fake_openai.enqueue(reply)
    response = say(over_openai, [("voice.wav", wav(), "audio/wav")])
    assert response.status_code == status
    assert says in response.json()["error"]
    assert OPENAI_KEY not in response.text
    assert [request.path for request in fake_openai.requests] == ["/v1/audio/transcriptions"]


def test_speech_to_text_is_retried_and_timed_like_a_provider_call(
    start_openai_gateway: StartGateway, fake_openai: FakeOpenAI
) -> None:
    gateway = start_openai_gateway(
        GATEWAY_RETRIES="1", GATEWAY_RETRY_BACKOFF="0", GATEWAY_FIRST_DELTA_TIMEOUT="1"
    )
    fake_openai.enqueue(openai_upstream.error(503, "The engine is currently overloaded"))
    assert say(gateway, [("voice.wav", wav(), "audio/wav")]).json() == {"text": "Hello, world!"}
    assert len(transcription_calls(fake_openai)) == 2
    fake_openai.reset()
    fake_openai.enqueue(Hang(), Hang())
    response = say(gateway, [("voice.wav", wav(), "audio/wav")])
    assert response.status_code == 504
    assert response.json() == {"error": "The openai provider did not answer in time."}
    assert len(transcription_calls(fake_openai)) == 2


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def test_a_websocket_turn_inlines_its_recording_and_it_is_heard(echo: GatewayProcess) -> None:
    recording = wav()
    audio = {"src": data_url("audio/wav", recording), "name": "voice.wav", "type": "audio"}
    frame = json.dumps({"messages": [{"role": "user", "files": [audio]}]})

    async def turn() -> list[str]:
        url = echo.url.replace("http", "ws") + f"/chat/ws?access_token={TOKEN}"
        async with websockets.connect(url) as socket:
            await socket.send(frame)
            texts = []
            while (text := json.loads(await socket.recv())["text"]) != "<END>":
                texts.append(text)
            return texts

    described = f"(audio: voice.wav, audio/wav, {len(recording)} bytes; echo does not transcribe)"
    assert "".join(aio.run(turn())) == described


def test_a_recording_in_the_pages_history_is_not_heard_again(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    # The demo page without memory sends its whole chat: earlier recordings come back as data URLs.
    earlier = {"src": data_url("audio/mp3", webm()), "name": "audio-10-42-07.mp3", "type": "audio"}
    body = {
        "messages": [
            {"role": "user", "files": [earlier]},
            {"role": "ai", "text": "It is sunny."},
            {"role": "user", "text": "And tomorrow?"},
        ]
    }
    assert httpx.post(over_openai.url + "/chat", json=body, timeout=20).json() == {"text": "Hello, world!"}
    assert transcription_calls(fake_openai) == []
    assert fake_openai.last.json()["messages"][0] == {
        "role": "user",
        "content": "[recording not sent again: audio-10-42-07.mp3]",
    }


def test_gemini_hears_the_recording_itself(fake_gemini: FakeGemini) -> None:
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": "gemini",
            "GEMINI_API_KEY": "gemini-test-key",
            "GEMINI_BASE_URL": fake_gemini.url,
        }
    )
    try:
        recording = wav()
        response = say(gateway, [("voice.wav", recording, "audio/wav")], text="answer this")
        assert response.json() == {"text": "Hello, world!"}
        (sent,) = fake_gemini.requests
        parts = sent.json()["contents"][-1]["parts"]
        audio = {"inlineData": {"mimeType": "audio/wav", "data": base64.b64encode(recording).decode()}}
        assert parts == [{"text": "answer this"}, audio]
    finally:
        gateway.stop()


def test_a_provider_without_speech_to_text_says_what_to_configure(
    anthropic_gateway: GatewayProcess, fake_anthropic: FakeAnthropic
) -> None:
    response = say(anthropic_gateway, [("voice.wav", wav(), "audio/wav")])
    assert response.status_code == 415
    error = response.json()["error"]
    assert error.startswith("The anthropic provider cannot hear recordings and has no speech-to-text here")
    assert "set GATEWAY_PROVIDER to one with speech-to-text (openai, azure, groq," in error
    assert fake_anthropic.requests == []


def test_azure_transcribes_with_the_deployment_named_for_it(fake_openai: FakeOpenAI) -> None:
    gateway = start_gateway(
        {
            "GATEWAY_PROVIDER": "azure",
            "AZURE_OPENAI_API_KEY": "azure-test-key",
            "AZURE_OPENAI_ENDPOINT": fake_openai.url,
            "AZURE_OPENAI_DEPLOYMENT": "chat",
            "GATEWAY_TRANSCRIPTION_MODEL": "whisper",
        }
    )
    try:
        assert say(gateway, [("voice.wav", wav(), "audio/wav")]).json() == {"text": "Hello, world!"}
        heard, answered = fake_openai.requests
        assert heard.path == "/openai/deployments/whisper/audio/transcriptions"
        assert "api-version=" in heard.query and heard.headers["api-key"] == "azure-test-key"
        assert answered.path == "/openai/deployments/chat/chat/completions"
        assert answered.json()["messages"][-1]["content"] == HEARD
    finally:
        gateway.stop()


# --- POST /v1/audio/transcriptions ----------------------------------------------------------------------


def test_the_sdk_transcribes_through_openai(over_openai: GatewayProcess, fake_openai: FakeOpenAI) -> None:
    recording = wav()
    result = client(over_openai).audio.transcriptions.create(
        file=("memo.wav", recording, "audio/wav"),
        model="gpt-4o-mini-transcribe",
        language="en",
        prompt="Lisbon, Porto",
        temperature=0.2,
    )
    assert result.text == HEARD
    (heard,) = fake_openai.requests
    sent = form_parts(heard)
    assert sent["file"].value == recording and sent["file"].filename == "memo.wav"
    assert {name: sent[name].value for name in ("model", "language", "prompt", "temperature")} == {
        "model": b"gpt-4o-mini-transcribe",
        "language": b"en",
        "prompt": b"Lisbon, Porto",
        "temperature": b"0.2",
    }


def test_the_sdk_gets_plain_text_when_it_asks(over_openai: GatewayProcess) -> None:
    text = client(over_openai).audio.transcriptions.create(
        file=("memo.wav", wav(), "audio/wav"), model="gpt-4o-mini-transcribe", response_format="text"
    )
    assert text == HEARD + "\n"


def test_the_door_on_echo_describes_and_is_admitted_like_every_door(echo: GatewayProcess) -> None:
    recording = wav()
    result = client(echo).audio.transcriptions.create(file=("memo.wav", recording, "audio/wav"), model="echo")
    assert result.text == f"(audio: memo.wav, audio/wav, {len(recording)} bytes; echo does not transcribe)"
    with pytest.raises(openai.AuthenticationError):
        client(echo, key="wrong").audio.transcriptions.create(
            file=("m.wav", wav(), "audio/wav"), model="echo"
        )
    preflight = httpx.options(
        echo.url + "/v1/audio/transcriptions",
        headers={
            "origin": SITE,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization",
        },
        timeout=10,
    )
    assert preflight.headers["access-control-allow-origin"] == SITE
    metrics = httpx.get(echo.url + "/metrics", timeout=10).text
    assert 'route="/v1/audio/transcriptions"' in metrics


@pytest.mark.parametrize(
    ("arguments", "param", "says"),
    [
        ({"model": "whisper-1"}, "model", "'whisper-1' is not available here; choose gpt-4o-mini-transcribe"),
        ({"response_format": "srt"}, "response_format", "use json or text"),
        ({"timestamp_granularities": ["word"]}, "timestamp_granularities[]", "is not supported here"),
        ({"temperature": 1.5}, "temperature", "between 0 and 1"),
    ],
)
def test_what_the_door_cannot_do_is_refused_by_name_in_openais_shape(
    over_openai: GatewayProcess, fake_openai: FakeOpenAI, arguments: dict[str, object], param: str, says: str
) -> None:
    request: dict[str, object] = {"model": "gpt-4o-mini-transcribe", **arguments}
    with pytest.raises(openai.BadRequestError) as caught:
        client(over_openai).audio.transcriptions.create(
            file=("memo.wav", wav(), "audio/wav"),
            **request,  # type: ignore[arg-type]
        )
    assert says in caught.value.message
    assert caught.value.body is not None and caught.value.body["param"] == param  # type: ignore[index]
    assert fake_openai.requests == []


def test_the_door_without_speech_to_text_is_a_415_naming_what_to_set(
    anthropic_gateway: GatewayProcess,
) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client(anthropic_gateway).audio.transcriptions.create(
            file=("memo.wav", wav(), "audio/wav"), model="whisper-1"
        )
    assert caught.value.status_code == 415
    assert "anthropic provider has no speech-to-text here: set GATEWAY_PROVIDER" in caught.value.message

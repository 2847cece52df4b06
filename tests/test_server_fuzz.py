"""Fuzz the live server (hypothesis): whatever a paired client sends, the server answers
without closing the connection, and then still serves a real round."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from backend.core import protocol as p
from backend.server import Limits, run_server_in_thread
from tests.server_fixtures import FakePredictor, b64, hello_frame, jpeg_bytes, round_frame

JPEG = jpeg_bytes(7, size=(32, 32))
_nonces = itertools.count()

leaf = (st.none() | st.booleans() | st.integers(-10**6, 10**6)
        | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
value = st.recursive(leaf, lambda c: st.lists(c, max_size=4)
                     | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=12)
views = st.lists(st.fixed_dictionaries(
    {"jpeg": st.sampled_from([b64(JPEG), b64(JPEG[:60]), b64(b"\xff\xd8\xff" + b"\x00" * 50),
                              "", "!!", b64(b"GIF89a")]),
     "heading": st.none() | st.floats(-10, 400)}), max_size=6)
fields = st.fixed_dictionaries(
    {}, optional={"round_id": st.text(max_size=12) | st.sampled_from(["r1", "r2", "x:1"]),
                  "source": st.sampled_from(list(p.SOURCES) + ["nope"]),
                  "mode": st.sampled_from(list(p.GAME_MODES) + ["chess"]),
                  "map": st.text(max_size=10), "views": views, "token": st.text(max_size=10),
                  "nonce": value, "truth": value, "score": value, "opponent": value,
                  "lat": value, "lng": value, "code": value, "message": value})
structured = st.builds(lambda t, v, f: json.dumps({"v": v, "type": t, **f}),
                       st.sampled_from(sorted(p.MESSAGE_TYPES) + ["nope"]),
                       st.sampled_from([1, 1, 1, 2, "1", None]), fields)
frames = structured | st.text(max_size=200) | st.binary(max_size=200) | value.map(json.dumps)


@pytest.fixture(scope="module")
def server():
    with run_server_in_thread(FakePredictor(), port=0,
                              limits=Limits(max_message_bytes=50_000)) as handle:
        yield handle


@pytest.fixture(scope="module")
def ws(server):
    with connect(server.url, max_size=None, open_timeout=20) as conn:
        conn.send(hello_frame(server.token))
        assert isinstance(p.parse_message(conn.recv(timeout=20)), p.Welcome)
        yield conn


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(frame=frames)
def test_any_frame_is_answered_without_closing(ws, frame):
    ws.send(frame)
    nonce = f"n{next(_nonces)}"
    ws.send(p.Ping(nonce=nonce).serialize())
    while True:   # everything up to our pong must be a normal server message
        msg = p.parse_message(ws.recv(timeout=30))
        assert not (isinstance(msg, p.Error) and msg.fatal), msg
        if msg == p.Pong(nonce=nonce):
            break


def test_the_server_still_serves_after_the_fuzz(server, ws):
    ws.send(round_frame("after-fuzz", [JPEG]))
    while True:
        msg = p.parse_message(ws.recv(timeout=30))
        if getattr(msg, "round_id", None) == "after-fuzz":
            break
    assert isinstance(msg, p.GuessMessage)
    m = server.metrics()
    assert m["clients"] == 1 and sum(m["errors"].values()) > 20

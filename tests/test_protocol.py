"""Protocol v1: the golden fixtures, round trips, each bad input's error code, and a fuzz test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core import protocol as p
from backend.core.protocol import ProtocolError, parse_message

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "protocol").glob("*.json"))
JPEG = bytes.fromhex("ffd8ffe000104a46494600")  # a JPEG header is all the protocol checks


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _frame(fx: dict) -> str:
    return fx["raw"] if "raw" in fx else json.dumps(fx["message"])


def _filled(obj):
    """Drop None values recursively: absent optional fields equal null ones."""
    if isinstance(obj, dict):
        return {k: _filled(v) for k, v in obj.items() if v is not None and v != {}}
    if isinstance(obj, list):
        return [_filled(v) for v in obj]
    return obj


def test_fixture_folder_is_complete():
    names = {f.stem for f in FIXTURES}
    assert len(names) >= 30
    kinds = {_load(f).get("message", {}).get("type") for f in FIXTURES if _load(f)["valid"]}
    assert kinds == set(p.MESSAGE_TYPES)  # every v1 type has a golden example
    for f in FIXTURES:
        fx = _load(f)
        assert fx["name"] == f.stem
        assert fx["direction"] in ("client_to_server", "server_to_client", "either")
        assert ("raw" in fx) != ("message" in fx)
        if not fx["valid"]:
            assert fx["error_code"] in p.ERROR_CODES


@pytest.mark.parametrize("path", [f for f in FIXTURES if _load(f)["valid"]], ids=lambda f: f.stem)
def test_valid_fixture_parses_and_round_trips(path):
    fx = _load(path)
    msg = parse_message(_frame(fx))
    assert msg.TYPE == fx["message"]["type"]
    again = json.loads(msg.serialize())
    assert _filled(again) == _filled(fx["message"])
    assert parse_message(msg.serialize()) == msg


@pytest.mark.parametrize("path", [f for f in FIXTURES if not _load(f)["valid"]],
                         ids=lambda f: f.stem)
def test_invalid_fixture_is_refused_with_its_code(path):
    fx = _load(path)
    with pytest.raises(ProtocolError) as info:
        parse_message(_frame(fx))
    assert info.value.code == fx["error_code"]
    assert len(info.value.message) > 10  # a sentence, not a bare code


def test_round_views_decode_to_jpeg_bytes():
    fx = _load(next(f for f in FIXTURES if f.stem == "round_four_views"))
    msg = parse_message(_frame(fx))
    assert isinstance(msg, p.Round)
    assert [v.heading for v in msg.views] == [0, 90, 180, 270]
    assert all(v.jpeg.startswith(b"\xff\xd8\xff") for v in msg.views)
    assert msg.game_id == "duel-7c1e" and msg.round_number == 3


def test_errors_about_a_round_carry_its_id():
    frame = json.dumps({"v": 1, "type": "round", "round_id": "r9", "source": "arena",
                        "mode": "arena", "map": "world",
                        "views": [{"jpeg": "aGVsbG8="}] * 5})
    with pytest.raises(ProtocolError) as info:
        parse_message(frame)
    assert info.value.code == "too_many_views" and info.value.round_id == "r9"
    bad = json.dumps({"v": 1, "type": "round", "round_id": "r8", "source": "arena",
                      "mode": "arena", "map": "world", "views": [{"jpeg": "aGVsbG8="}]})
    with pytest.raises(ProtocolError) as info:
        parse_message(bad)
    assert info.value.code == "bad_image" and info.value.round_id == "r8"
    err = p.Error.from_exception(info.value)
    assert err.round_id == "r8" and parse_message(err.serialize()) == err


def test_max_views_can_be_lowered():
    frame = p.Round(round_id="r", source="test", mode="unknown", map="m",
                    views=(p.View(JPEG), p.View(JPEG))).serialize()
    assert len(parse_message(frame).views) == 2
    with pytest.raises(ProtocolError, match="at most 1 views"):
        parse_message(frame, max_views=1)


@pytest.mark.parametrize("frame,code", [
    (b"\xff\xfe", "bad_json"),
    ("", "bad_json"),
    ("[" * 100_000, "bad_json"),
    ('{"v": true, "type": "ping"}', "unsupported_version"),
    ('{"v": 1}', "unknown_type"),
    ('{"v": 1, "type": 5}', "unknown_type"),
    ('{"v": 1, "type": "hello", "token": "t", "client": []}', "bad_message"),
    ('{"v": 1, "type": "hello", "token": "", "client": {"kind": "test", "version": "1"}}',
     "bad_message"),
    ('{"v": 1, "type": "result", "round_id": "r", "score": 1e999}', "bad_message"),
    ('{"v": 1, "type": "result", "round_id": "r", "distance_km": 1' + "0" * 400 + "}",
     "bad_message"),
    ('{"v": 1, "type": "result", "round_id": "r", "truth": {"lat": true, "lng": 0}}',
     "bad_message"),
    (('{"v": 1, "type": "round", "round_id": "r", "source": "x", "mode": "duels", "map": "w",'
      ' "views": "abc"}'), "bad_message"),
    ('{"v": 1, "type": "error", "code": "nope", "message": "m"}', "bad_message"),
    (('{"v": 1, "type": "guess", "round_id": "r", "lat": 0, "lng": 0, "projected_score": 1,'
      ' "confidence": 2, "top_k": [], "latency_ms": 1, "model_id": "m"}'), "bad_message"),
])
def test_bad_frames(frame, code):
    with pytest.raises(ProtocolError) as info:
        parse_message(frame)
    assert info.value.code == code


def test_serialize_refuses_a_bad_message():
    with pytest.raises(ProtocolError):
        p.GuessMessage(round_id="r", lat=100.0, lng=0.0, projected_score=1.0, confidence=0.5,
                       country=None, top_k=(), latency_ms=1.0, model_id="m").serialize()
    with pytest.raises(ValueError):
        ProtocolError("not_a_code", "x")


def test_integral_floats_are_integers_like_in_js():
    frame = p.Round(round_id="r", source="test", mode="unknown", map="m",
                    views=(p.View(JPEG),)).to_dict()
    assert parse_message(json.dumps({**frame, "round_number": 3.0})).round_number == 3
    with pytest.raises(ProtocolError, match="integer"):
        parse_message(json.dumps({**frame, "round_number": 2.5}))


def test_pong_is_not_a_ping_on_the_wire():
    assert isinstance(parse_message('{"v":1,"type":"pong","nonce":"a"}'), p.Pong)
    assert type(parse_message('{"v":1,"type":"ping"}')) is p.Ping


# --------------------------------------------------------------------- fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_any_text_parses_or_raises_protocol_error(text):
    try:
        parse_message(text)
    except ProtocolError as exc:
        assert exc.code in p.ERROR_CODES


@settings(max_examples=250, deadline=None)
@given(st.sampled_from(sorted(p.MESSAGE_TYPES)),
       st.dictionaries(st.sampled_from(["token", "client", "round_id", "views", "lat", "lng",
                                        "source", "mode", "map", "truth", "score", "opponent",
                                        "top_k", "nonce", "code", "message", "model", "limits",
                                        "session_id", "confidence", "projected_score",
                                        "latency_ms", "model_id", "timings", "fatal",
                                        "heading", "jpeg", "of", "server_version"]),
                       json_values, max_size=12))
def test_fuzz_structured_messages(kind, fields):
    frame = json.dumps({"v": 1, "type": kind, **fields})
    try:
        msg = parse_message(frame)
    except ProtocolError as exc:
        assert exc.code in p.ERROR_CODES
        return
    # whatever parses must serialize and parse back to the same message
    assert parse_message(msg.serialize()) == msg


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(-90, 90), lng=st.floats(-180, 180), score=st.floats(0, 5000),
       conf=st.floats(0, 1), rid=st.from_regex(r"[A-Za-z0-9._:\-]{1,40}", fullmatch=True))
def test_fuzz_guess_round_trip(lat, lng, score, conf, rid):
    msg = p.GuessMessage(round_id=rid, lat=lat, lng=lng, projected_score=score, confidence=conf,
                         country="FR", top_k=(p.Place(lat, lng, conf, None),), latency_ms=1.5,
                         model_id="m", timings={"model_ms": 1.0})
    assert parse_message(msg.serialize()) == msg


def test_protocol_module_imports_only_the_standard_library():
    import ast
    import sys

    allowed = set(sys.stdlib_module_names) | {"__future__"}
    own = {"backend.core", "backend.core.protocol_fields", "backend.core.protocol_values"}
    core = Path(p.__file__).parent
    for name in ("protocol.py", "protocol_fields.py", "protocol_values.py"):
        tree = ast.parse((core / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = {node.module}
            else:
                continue
            for mod in mods:
                assert mod in own or mod.split(".")[0] in allowed, (name, mod)

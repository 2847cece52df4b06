"""The host names the 2026 site uses, and the Chromium flags that send them all to the mock.

Sources: rashinban2026-scripts docs/geoguessr/presenter-protocol.md (www, gs2, the game-server
host), tzhf/chatguessr + miraclewhips userscripts (Maps JS from `https://maps.googleapis.com/`),
Orlando-PB/OGGS extension/src/core/tiles.js (Street View tiles from
`streetviewpixels-pa.googleapis.com/v1/tile`).
"""

from __future__ import annotations

WWW = "www.geoguessr.com"
GS2 = "gs2.geoguessr.com"
GAME_SERVER = "game-server.geoguessr.com"
MAPS = "maps.googleapis.com"
TILES = "streetviewpixels-pa.googleapis.com"
ALL_HOSTS = (WWW, GS2, GAME_SERVER, MAPS, TILES)


def chromium_args(port: int) -> list[str]:
    """Flags that make Chromium resolve every site host to the mock on 127.0.0.1:``port`` and
    accept its self-signed certificate. Everything else stays unresolvable (no internet)."""
    rules = ", ".join(f"MAP {h} 127.0.0.1:{port}" for h in ALL_HOSTS)
    return [f"--host-resolver-rules={rules}", "--ignore-certificate-errors"]

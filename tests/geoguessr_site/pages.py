"""The HTML the mock serves: page shells (Next.js-like: `#__next`, `__NEXT_DATA__`, React from
npm), the page code, and the fake Maps script.

The page code (web/app_*.js) runs inside ONE function with its per-page BOOT config (mode,
game id, locale texts, the page's own request marker), so nothing of it sits on `window`.
Localised texts: the Japanese ones are the captured ones (player-dom.json: "ラウンド 1",
"0ポイント", "∞キロ"); the others are ordinary translations, not captures.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEB = HERE / "web"
NODE_MODULES = HERE / "node_modules"
REACT_FILES = {"react.js": NODE_MODULES / "react/umd/react.production.min.js",
               "react-dom.js": NODE_MODULES / "react-dom/umd/react-dom.production.min.js"}
APP_FILES = ("app_kit.js", "app_duels.js", "app_classic.js", "app_br.js", "app_mount.js")
MAPS_FILES = ("maps_core.js", "street_view.js", "guess_map.js", "maps_boot.js")

TEXTS = {
    "en": {"splashRound": "ROUND {n}", "resultRound": "Round {n}", "guess": "Guess",
           "placePin": "Place your pin on the map", "next": "Next", "playAgain": "Play again",
           "points": "{n} points", "km": "{d} km", "score": "Score", "partyLobby": "Party",
           "waitingNext": "Waiting for the next round"},
    "de": {"splashRound": "RUNDE {n}", "resultRound": "Runde {n}", "guess": "Raten",
           "placePin": "Setze deinen Pin auf die Karte", "next": "Weiter",
           "playAgain": "Nochmal spielen", "points": "{n} Punkte", "km": "{d} km",
           "score": "Punkte", "partyLobby": "Party", "waitingNext": "Warte auf die nächste Runde"},
    "ja": {"splashRound": "ラウンド {n}", "resultRound": "ラウンド {n}", "guess": "推測する",
           "placePin": "地図にピンを置いてください", "next": "次へ", "playAgain": "もう一度プレイ",
           "points": "{n}ポイント", "km": "{d}キロ", "score": "スコア", "partyLobby": "パーティー",
           "waitingNext": "Game Masterが次のラウンドを開始するのを待っています"},
    "pt-BR": {"splashRound": "RODADA {n}", "resultRound": "Rodada {n}", "guess": "Palpitar",
              "placePin": "Coloque seu alfinete no mapa", "next": "Próxima",
              "playAgain": "Jogar novamente", "points": "{n} pontos", "km": "{d} km",
              "score": "Pontuação", "partyLobby": "Grupo", "waitingNext": "Aguardando a próxima rodada"},
}

CSS = """
html,body{margin:0;height:100%;background:#1a1446;color:#fff;font-family:sans-serif;overflow:hidden}
#__next,.site-layout_root__Y3kAk,.site-layout_main__C0bmT{position:absolute;inset:0}
.game_panorama__lq1oy,.duels-panorama_panorama__Hl7Sx,.game-panorama_panorama__rdhFg{position:absolute;inset:0}
.game_topHud__qcH9J{position:absolute;top:8px;left:50%;transform:translateX(-50%);z-index:3}
.panorama-compass_compass__eUgKD{width:200px;height:24px;overflow:hidden;background:#0008;white-space:pre}
.duels_hud__Fn5YL{position:absolute;top:40px;left:0;right:0;z-index:3}
.hud_healthBars__rB5ew{display:flex;justify-content:space-between;padding:0 20px}
.game_status__q_b7N{display:flex;gap:12px;background:#0008;padding:4px 10px}
.game_controls__xgq6p{position:absolute;left:16px;bottom:16px;z-index:3}
.compass_compass__BRK1T{width:48px;height:48px;border-radius:24px}
.game_guessMap__8jK6O{position:absolute;right:16px;bottom:16px;width:320px;height:240px;z-index:4}
.guess-map_guessMap__QlC3z{position:absolute;inset:0;display:flex;flex-direction:column}
.guess-map_canvas__cvpqv{position:absolute;inset:0}
.guess-map_guessMap__QlC3z button{width:100%;height:36px}
.new-round_root__xO4Wj{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;background:#1a1446e0;z-index:6;font-size:56px}
.round-score_root__4Ye_r,.result-layout_root__fRPgH{position:absolute;inset:0;z-index:6;background:#1a1446f0}
.result-layout_top__mBX1e{position:absolute;left:0;right:0;top:0;height:60%}
.coordinate-result-map_map__dvPWi{position:absolute;inset:0}
.result-layout_bottom__qLPd2{position:absolute;left:0;right:0;bottom:0;height:40%;padding:16px}
.fullscreen-spinner_root__IF4pq{position:absolute;inset:0;background:#1a1446}
.party_root__V6uEd{padding:40px}
#party-duel-portal{position:absolute;inset:0;z-index:10}
"""


def read_web(name: str) -> str:
    return (WEB / name).read_text()


def react_available() -> bool:
    return all(p.exists() for p in REACT_FILES.values())


def maps_script(tile_stream_s: float, callback: str = "") -> str:
    """The fake `https://maps.googleapis.com/maps/api/js` script."""
    body = "\n".join(read_web(f) for f in MAPS_FILES)
    body = body.replace("__TILE_STREAM_S__", repr(float(tile_stream_s)))
    body = body.replace("__CALLBACK__", callback.replace("'", "").replace("\\", ""))
    return f"(function () {{\n'use strict';\n{body}\n}})();\n"


def page_html(*, title: str, lang: str, boot: dict, next_data: dict) -> str:
    """A page shell with its app inlined in one function (BOOT in its scope)."""
    app = "\n".join(read_web(f) for f in APP_FILES)
    boot_json = json.dumps(boot, ensure_ascii=False).replace("</", "<\\/")
    next_json = json.dumps(next_data).replace("</", "<\\/")
    return (f"<!DOCTYPE html><html lang=\"{html.escape(lang)}\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)} - GeoGuessr</title><style>{CSS}</style>"
            "<script src=\"/_next/static/chunks/react.js\"></script>"
            "<script src=\"/_next/static/chunks/react-dom.js\"></script></head><body>"
            "<div id=\"__next\"></div>"
            f"<script id=\"__NEXT_DATA__\" type=\"application/json\">{next_json}</script>"
            f"<script>(function () {{\n'use strict';\nconst BOOT = {boot_json};\n{app}\n}})();</script>"
            "</body></html>")

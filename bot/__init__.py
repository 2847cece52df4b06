"""pigeon-bot players and measurement: arena, experiments, screen bot, score reports.

``bot`` imports ``backend``; ``backend`` never imports ``bot``.
"""

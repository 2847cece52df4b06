// Fake Google Maps JS, part 4: publish `google.maps` (plain writable properties, so hooks can
// replace the constructors with subclasses before the page builds its panorama) and run the
// loader's `callback=` function, as the real bootstrap does.

const maps = {
  version: '3.mock', LatLng, LatLngBounds, Size, Point, event, MVCObject,
  Map: GMap, Marker, Polyline, InfoWindow, ImageMapType, StreetViewPanorama, StreetViewService,
  MapTypeId: { ROADMAP: 'roadmap', SATELLITE: 'satellite', HYBRID: 'hybrid', TERRAIN: 'terrain' },
  ControlPosition: { TOP_LEFT: 1, TOP_CENTER: 2, TOP_RIGHT: 3, LEFT_CENTER: 4, RIGHT_CENTER: 8, BOTTOM_LEFT: 10, BOTTOM_RIGHT: 12 },
  MapTypeControlStyle: { DEFAULT: 0, HORIZONTAL_BAR: 1, DROPDOWN_MENU: 2 },
  StreetViewStatus: { OK: 'OK', ZERO_RESULTS: 'ZERO_RESULTS', UNKNOWN_ERROR: 'UNKNOWN_ERROR' },
  StreetViewSource: { DEFAULT: 'default', OUTDOOR: 'outdoor', GOOGLE: 'google' },
  RenderingType: { RASTER: 'RASTER', VECTOR: 'VECTOR', UNINITIALIZED: 'UNINITIALIZED' },
  marker: { AdvancedMarkerElement: class AdvancedMarkerElement { constructor(o = {}) { this.position = o.position; this.map = o.map; } } },
};
maps.importLibrary = async (name) => ({ maps, core: maps, streetView: maps, marker: maps.marker }[name] || maps);
window.google = window.google || {};
window.google.maps = maps;
const callbackName = '__CALLBACK__';
if (callbackName && typeof window[callbackName] === 'function') setTimeout(() => window[callbackName](), 0);

// Fake Google Maps JS, part 3: google.maps.Map (the guess map and the result map), Marker,
// Polyline. A click on the map div, or `google.maps.event.trigger(map, 'click', {latLng})`
// (what Orlando-PB/OGGS core/maps.js does), reaches the page's own click listener, which places
// its pin. Plate carree projection, a graticule, markers as dots: enough to click on.

const mapState = new WeakMap();

class GMap extends MVCObject {
  constructor(div, opts = {}) {
    super();
    const canvas = document.createElement('canvas');
    canvas.style.cssText = 'width:100%;height:100%;display:block;cursor:crosshair';
    const root = document.createElement('div');
    root.className = 'gm-style';
    root.style.cssText = 'position:absolute;inset:0';
    root.append(canvas);
    div.append(root);
    mapState.set(this, { div, canvas, center: new LatLng(opts.center || { lat: 20, lng: 0 }),
      zoom: typeof opts.zoom === 'number' ? opts.zoom : 1, overlays: new Set(), mapTypeId: opts.mapTypeId || 'roadmap' });
    this.mapTypes = new Map();
    this.controls = Array.from({ length: 14 }, () => []);
    canvas.addEventListener('click', (ev) => {
      const r = canvas.getBoundingClientRect();
      const latLng = this.fromPixel(ev.clientX - r.left, ev.clientY - r.top);
      event.trigger(this, 'click', { latLng, domEvent: ev, stop() {} });
    });
    new ResizeObserver(() => this.redraw()).observe(div);
    setTimeout(() => { this.redraw(); event.trigger(this, 'idle'); }, 0);
  }

  pixelsPerDegree() { return (256 / 360) * 2 ** mapState.get(this).zoom; }
  fromPixel(x, y) {
    const s = mapState.get(this);
    const w = s.canvas.clientWidth, h = s.canvas.clientHeight, k = this.pixelsPerDegree();
    return new LatLng(s.center.lat() - (y - h / 2) / k, s.center.lng() + (x - w / 2) / k);
  }
  toPixel(p) {
    const s = mapState.get(this);
    const w = s.canvas.clientWidth, h = s.canvas.clientHeight, k = this.pixelsPerDegree();
    return [w / 2 + (p.lng() - s.center.lng()) * k, h / 2 - (p.lat() - s.center.lat()) * k];
  }

  redraw() {
    const s = mapState.get(this);
    const c = s.canvas;
    c.width = Math.max(1, c.clientWidth);
    c.height = Math.max(1, c.clientHeight);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#a9c8e8';
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.strokeStyle = '#ffffff88';
    for (let lng = -180; lng <= 180; lng += 30) {
      const [x] = this.toPixel(new LatLng(0, lng));
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, c.height); ctx.stroke();
    }
    for (let lat = -60; lat <= 60; lat += 30) {
      const [, y] = this.toPixel(new LatLng(lat, 0));
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(c.width, y); ctx.stroke();
    }
    for (const o of s.overlays) o.drawOn(ctx, this);
  }

  getDiv() { return mapState.get(this).div; }
  getCenter() { return mapState.get(this).center; }
  setCenter(p) { mapState.get(this).center = new LatLng(p); this.redraw(); event.trigger(this, 'center_changed'); event.trigger(this, 'idle'); }
  panTo(p) { this.setCenter(p); }
  getZoom() { return mapState.get(this).zoom; }
  setZoom(z) { mapState.get(this).zoom = Number(z); this.redraw(); event.trigger(this, 'zoom_changed'); event.trigger(this, 'idle'); }
  fitBounds(b) {
    const sw = b.getSouthWest ? b.getSouthWest() : new LatLng(b.south, b.west);
    const ne = b.getNorthEast ? b.getNorthEast() : new LatLng(b.north, b.east);
    this.setCenter(new LatLng((sw.lat() + ne.lat()) / 2, (sw.lng() + ne.lng()) / 2));
  }
  getBounds() {
    const s = mapState.get(this);
    return new LatLngBounds(this.fromPixel(0, s.canvas.clientHeight), this.fromPixel(s.canvas.clientWidth, 0));
  }
  setOptions(opts = {}) {
    if (opts.center) this.setCenter(opts.center);
    if (typeof opts.zoom === 'number') this.setZoom(opts.zoom);
    if (opts.mapTypeId) this.setMapTypeId(opts.mapTypeId);
  }
  getMapTypeId() { return mapState.get(this).mapTypeId; }
  setMapTypeId(id) { mapState.get(this).mapTypeId = id; event.trigger(this, 'maptypeid_changed'); }
  setRenderingType() {}
  setHeadingInteractionEnabled() {}
  setTiltInteractionEnabled() {}
  _overlay(o, on) { const s = mapState.get(this); if (on) s.overlays.add(o); else s.overlays.delete(o); this.redraw(); }
}

class Marker extends MVCObject {
  constructor(opts = {}) {
    super();
    this._position = opts.position ? new LatLng(opts.position) : null;
    this._map = null;
    if (opts.map) this.setMap(opts.map);
  }
  setMap(map) { if (this._map) this._map._overlay(this, false); this._map = map; if (map) map._overlay(this, true); }
  getMap() { return this._map; }
  setPosition(p) { this._position = new LatLng(p); if (this._map) this._map.redraw(); event.trigger(this, 'position_changed'); }
  getPosition() { return this._position; }
  drawOn(ctx, map) {
    if (!this._position) return;
    const [x, y] = map.toPixel(this._position);
    ctx.fillStyle = '#e53935';
    ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.fill();
  }
}

class Polyline extends MVCObject {
  constructor(opts = {}) { super(); this._path = (opts.path || []).map((p) => new LatLng(p)); this._map = null; if (opts.map) this.setMap(opts.map); }
  setMap(map) { if (this._map) this._map._overlay(this, false); this._map = map; if (map) map._overlay(this, true); }
  drawOn(ctx, map) {
    if (this._path.length < 2) return;
    ctx.strokeStyle = '#333'; ctx.beginPath();
    this._path.forEach((p, i) => { const [x, y] = map.toPixel(p); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  }
}

class InfoWindow extends MVCObject { open() {} close() {} setContent() {} }
class ImageMapType { constructor(opts) { this.opts = opts; } }

// Is a captured view a picture of a place, or a blank / uniform / broken frame? A Street View
// canvas read at the wrong moment comes back black or transparent, a tab capture during a
// loading screen comes back one colour: such a view is refused (never sent as a round: the
// model would give a confident guess for a black screen). judgePixels is pure (node --test);
// judgeJpeg decodes in the browser (content script or worker).

export const SAMPLE_W = 32;
export const SAMPLE_H = 18;
const MIN_RANGE = 12;         // luminance max - min over the sample (0..255)
const MIN_STD = 2.0;          // luminance standard deviation
const MAX_ONE_COLOUR = 0.97;  // share of the sample in one coarse colour bin
const MIN_SIDE = 16;          // px: anything smaller is not a view

/**
 * Judge an RGBA sample (Uint8ClampedArray or array, row-major, 4 bytes a pixel).
 * Returns {ok, reason, stats}: reason is null when ok, else one short phrase.
 */
export function judgePixels(rgba, width, height) {
  const n = width * height;
  if (!n || !rgba || rgba.length < 4 * n) return { ok: false, reason: 'the image is empty', stats: null };
  let min = 255; let max = 0; let sum = 0; let sum2 = 0; let opaque = 0;
  const bins = new Map();
  for (let i = 0; i < 4 * n; i += 4) {
    const y = (rgba[i] * 299 + rgba[i + 1] * 587 + rgba[i + 2] * 114) / 1000;
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    sum2 += y * y;
    if (rgba[i + 3] > 8) opaque += 1;
    const bin = ((rgba[i] >> 5) << 6) | ((rgba[i + 1] >> 5) << 3) | (rgba[i + 2] >> 5);
    bins.set(bin, (bins.get(bin) || 0) + 1);
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
  const oneColour = Math.max(...bins.values()) / n;
  const stats = { min: Math.round(min), max: Math.round(max), mean: Math.round(mean), std: Math.round(std * 10) / 10,
    oneColour: Math.round(oneColour * 1000) / 1000, opaque: Math.round((opaque / n) * 1000) / 1000 };
  let reason = null;
  if (opaque / n < 0.5) reason = 'transparent (the canvas was read after its frame was cleared)';
  else if (max < 16) reason = 'black';
  else if (max - min < MIN_RANGE || std < MIN_STD) reason = `uniform (one colour, luminance ${stats.mean})`;
  else if (oneColour > MAX_ONE_COLOUR) reason = `almost one colour (${Math.round(oneColour * 100)} % of the view)`;
  return { ok: reason === null, reason, stats };
}

/** Decode a base64 JPEG and judge it (browser only: createImageBitmap + OffscreenCanvas). */
export async function judgeJpeg(base64) {
  let bitmap;
  try {
    const bin = atob(base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
    bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
  } catch (err) {
    return { ok: false, reason: `broken (the JPEG does not decode: ${err.message})`, stats: null };
  }
  try {
    if (bitmap.width < MIN_SIDE || bitmap.height < MIN_SIDE) {
      return { ok: false, reason: `too small (${bitmap.width}x${bitmap.height} px)`, stats: null };
    }
    const canvas = new OffscreenCanvas(SAMPLE_W, SAMPLE_H);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0, SAMPLE_W, SAMPLE_H);
    const verdict = judgePixels(ctx.getImageData(0, 0, SAMPLE_W, SAMPLE_H).data, SAMPLE_W, SAMPLE_H);
    return { ...verdict, size: [bitmap.width, bitmap.height] };
  } finally {
    bitmap.close();
  }
}

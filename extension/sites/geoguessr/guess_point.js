// Where the pin goes for a guess. Normally the backend's pin (the point of best expected
// score). In battle royale "countries" the answer is a country: the pin must fall inside the
// predicted country, so it goes to the most probable candidate of that country (a place the
// model knows in it), which a pin near a coast or border might not be.

/** {lat, lng} to place for `guess` (protocol v1 guess: lat, lng, country, top_k). */
export function pinFor(guess, { countries = false } = {}) {
  if (countries && guess.country) {
    const inCountry = (guess.top_k || []).filter((c) => c && c.country === guess.country);
    inCountry.sort((a, b) => (b.prob ?? 0) - (a.prob ?? 0));
    if (inCountry.length) return { lat: inCountry[0].lat, lng: inCountry[0].lng };
  }
  return { lat: guess.lat, lng: guess.lng };
}

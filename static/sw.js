// Traffic Cop's service worker: keeps the page and its bundle, so that a second visit works
// with the network off. Network first (a new build is picked up at once), the cache when the
// network fails. The bundle's file names carry hashes, so they are read from the page itself.
const CACHE = "traffic-cop-v1";

async function cacheThePage() {
  const cache = await caches.open(CACHE);
  const page = await fetch("./", { cache: "reload" });
  const html = await page.clone().text();
  await cache.put("./", page);
  const linked = [...html.matchAll(/(?:href|src)="([^"#]+)"/g)].map((m) => m[1]);
  const imported = [...html.matchAll(/['"]([^'"\s]+\.(?:js|wasm|css|svg))['"]/g)].map((m) => m[1]);
  const same = [...new Set([...linked, ...imported])].filter((u) => !/^[a-z]+:/i.test(u));
  await cache.addAll(same);
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheThePage().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  const page = request.mode === "navigate";
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(request);
        if (response.ok) await cache.put(page ? "./" : request, response.clone());
        return response;
      } catch (offline) {
        const kept = await cache.match(page ? "./" : request, { ignoreSearch: page });
        if (kept) return kept;
        throw offline;
      }
    })(),
  );
});

// The page's service worker: keeps every file of this build (the page, the bundles, the kernels and the demo
// model) in a cache named after their hash, and answers from it first, so the page reloads and runs without a
// network once it has loaded. A new build is a new cache; the old one is dropped when the new worker activates.
// Responses keep their headers in the cache, COOP/COEP included, so a page served from it stays isolated.
declare const __KVSIEVE_CACHE__: string;
declare const __KVSIEVE_FILES__: string[];

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  readonly registration: { readonly scope: string };
}

const sw = globalThis as unknown as ServiceWorkerScope;
const CACHE = __KVSIEVE_CACHE__;

sw.addEventListener('install', (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(__KVSIEVE_FILES__))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith('kvsieve-') && k !== CACHE).map((k) => caches.delete(k))),
      )
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET' || !req.url.startsWith(sw.registration.scope)) return;
  e.respondWith(
    caches.open(CACHE).then(async (c) => (await c.match(req, { ignoreSearch: true })) ?? fetch(req)),
  );
});

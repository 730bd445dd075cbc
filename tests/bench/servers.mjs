// servers.mjs: the bench's provider and backend, each in its own worker thread
// (its own event loop, so a login storm or the proxied load on one does not
// slow the other or the bench's own client).
//
//   const op = await startServerWorker('provider', {clients, accounts})
//       -> {issuer, port, worker, stop(), call(name, ...args)}
//                                           oidc-provider from the test harness;
//                                           call('accessToken', claims, opts)
//                                           resolves with op.accessToken()'s JWT
//   const be = await startServerWorker('backend', {bytes: 1024})
//       -> {url, port, worker, stop()}      answers every GET with the same
//                                           `bytes` of text/html, keep-alive
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import http from 'node:http';

export function startServerWorker(kind, opts = {}) {
    return new Promise((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { kind, opts } });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`${kind} worker exited (${code}) before it was ready`)));
        worker.once('message', (m) => {
            if (m.error) return reject(new Error(`${kind}: ${m.error}`));
            worker.removeAllListeners('exit');
            worker.unref();
            const pending = new Map();
            let next = 0;
            worker.on('message', (a) => {
                const p = pending.get(a.id);
                if (!p) return;
                pending.delete(a.id);
                if (!pending.size) worker.unref();
                if (a.error) p.reject(new Error(`${kind}: ${a.error}`));
                else p.resolve(a.result);
            });
            resolve({
                ...m,
                worker,
                stop: () => worker.terminate(),
                /** One of the worker's CALLS, by name; resolves with its result. */
                call: (name, ...args) => new Promise((res, rej) => {
                    const id = ++next;
                    pending.set(id, { resolve: res, reject: rej });
                    worker.ref(); // node waits for the answer
                    worker.postMessage({ id, name, args });
                }),
            });
        });
    });
}

/* What the bench may ask of the provider worker once it runs. */
const CALLS = {
    provider: ['accessToken'],
};

async function runProvider(opts) {
    const { startProvider } = await import('../integration/lib/provider.mjs');
    const op = await startProvider({
        ...opts,
        // Sessions must outlive a full bench run.
        ttl: { Session: 86400, Grant: 86400, AccessToken: 3600, IdToken: 3600 },
    });
    // The harness records every request and event for the tests; with
    // hundreds of thousands of logins that would only grow.
    setInterval(() => {
        op.resetCounts();
        op.events.length = 0;
    }, 2000).unref();
    op.server.keepAliveTimeout = 60000;
    op.server.ref(); // the harness unrefs it; this worker lives for it
    answerCalls('provider', op);
    parentPort.postMessage({ issuer: op.issuer, port: op.port });
}

/** Answers the main thread's call(name, ...args) with target[name](...args). */
function answerCalls(kind, target) {
    parentPort.on('message', async ({ id, name, args }) => {
        try {
            if (!CALLS[kind].includes(name)) throw new Error(`no call ${name}`);
            parentPort.postMessage({ id, result: await target[name](...args) });
        } catch (e) {
            parentPort.postMessage({ id, error: e.stack ?? String(e) });
        }
    });
}

function runBackend({ bytes = 1024 }) {
    const body = Buffer.from(`<!doctype html><title>backend</title><p>${'x'.repeat(bytes)}`.slice(0, bytes - 1) + '\n');
    const server = http.createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': body.length });
        res.end(body);
    });
    // Apache's mod_proxy keeps its backend connections; do not close them first.
    server.keepAliveTimeout = 120000;
    server.headersTimeout = 130000;
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
        const { port } = server.address();
        parentPort.postMessage({ port, url: `http://127.0.0.1:${port}` });
    });
}

if (!isMainThread && workerData?.kind) {
    const { kind, opts } = workerData;
    const run = kind === 'provider' ? runProvider : runBackend;
    Promise.resolve(run(opts)).catch((e) => parentPort.postMessage({ error: e.stack ?? String(e) }));
}

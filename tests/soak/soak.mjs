#!/usr/bin/env node
// soak.mjs: a long mixed load against Apache with mod_auth_oauth2 (issue 6).
//
//   node tests/soak/soak.mjs [--module PATH] [--requests N] [--connections C]
//                            [--tolerance-mib M] [--tolerance-pct P] [--seed S]
//
// Starts the test provider (64 accounts), and Apache (event MPM, 2 children
// that are never recycled) on two loopback addresses: 127.0.0.1 with the
// default OAuth2SessionTimeout, 127.0.0.2 (a virtual host) with
// OAuth2SessionTimeout 2, so that part of the traffic sees its sessions
// expire. C workers (default 32), each one user on its own keep-alive
// connection, run sessions back to back until N authenticated requests
// (default 200,000) have been answered: log in (the full code flow through
// the provider), send a run of requests (a static page under AuthType
// oauth2; every response carries the user in a header, every 25th request
// also goes to the echo backend behind mod_proxy), then either log out (and
// check that the old cookie no longer works), let the session expire on the
// short host (idle beyond the timeout, then the same check), or keep the
// session and start another one. A request's answer is an error unless it is
// 200 for this worker's user (or, for the checks, a login redirect).
//
// Prints: requests, logins, logouts, expiries, errors (target 0), the memory
// of each Apache child (VmRSS, and its parts RssAnon, the child's own heap
// and stacks, and RssShmem, the pages of the shared session table it has
// touched, which grow with the slots in use) at the start, after a warm-up
// (a tenth of the requests, at most 20,000) and at the end (target: RssAnon
// grows after the warm-up by at most max(--tolerance-mib, --tolerance-pct %),
// default 4 MiB / 10 %; the children must be the same processes throughout),
// and the store's consistency: oauth2_sessions_live from the oauth2-status
// page against the bounds the run implies (each login stores a session and
// back-channel index entries; its state's replay marker goes to the marker
// pool, not a slot; logouts remove sessions; expired ones may linger until
// swept), no evictions, refusals or repairs, and every kept session still
// valid for its own user. Exits 1 when a target is missed.
// (./build.sh soak runs the shm table's kill test first: writers SIGKILLed
// at random points, see tests/unit/test_store_shm.c.)
// (One of the children listed is mod_cgid's daemon, which serves nothing.)
//
// Memory settings that make the figures mean something: MaxMemFree 16 (a
// thread keeps at most 16 KB of freed pool memory) and MALLOC_ARENA_MAX=2.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
    options: {
        module: { type: 'string' },
        requests: { type: 'string', default: '200000' },
        connections: { type: 'string', default: '32' },
        'tolerance-mib': { type: 'string', default: '4' },
        'tolerance-pct': { type: 'string', default: '10' },
        seed: { type: 'string', default: '6' },
    },
});
if (args.module) process.env.MOD_AUTH_OAUTH2_SO = path.resolve(args.module);

// The harness reads MOD_AUTH_OAUTH2_SO when it is imported.
const { startProvider } = await import(path.join(here, '../integration/lib/provider.mjs'));
const { startBackend } = await import(path.join(here, '../integration/lib/backend.mjs'));
const { createApache, MODULE_PATH } = await import(path.join(here, '../integration/lib/apache.mjs'));
const { newBrowser, login } = await import(path.join(here, '../integration/lib/http.mjs'));
const { freePort } = await import(path.join(here, '../integration/lib/ports.mjs'));

const TARGET = Number(args.requests);
const WORKERS = Number(args.connections);
const TOL_MIB = Number(args['tolerance-mib']);
const TOL_PCT = Number(args['tolerance-pct']);
const SHORT_TIMEOUT = 2; // seconds, on 127.0.0.2
const WARMUP = Math.min(20000, Math.floor(TARGET / 10));
const CHILDREN = 2;
const THREADS = 32;

/* ------------------------------------------------------------ helpers */

function rng(seed) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 4294967296;
    };
}

/* Resident memory of a process in KiB: {rss (VmRSS), anon (RssAnon: the
 * process's own heap and stacks), shmem (RssShmem: pages of the shared
 * session table it touched, which grow with the slots in use, not leaks)}. */
function memKiB(pid) {
    try {
        const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1]);
        return { rss: get('VmRSS'), anon: get('RssAnon'), shmem: get('RssShmem') };
    }
    catch {
        return null;
    }
}

/* The apache2 children of the parent (cgid's daemon included). */
function children(parent) {
    const out = [];
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const st = fs.readFileSync(`/proc/${d}/status`, 'utf8');
            if (new RegExp(`^PPid:\\s+${parent}$`, 'm').test(st) && /^Name:\s+apache2/m.test(st)) out.push(Number(d));
        }
        catch { /* gone */ }
    }
    return out.sort((a, b) => a - b);
}

/* One GET on a keep-alive agent; retried once when a reused connection
 * was closed by the server just as the request went out (not an error). */
function get(agent, url, headers, stats, retry = true) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { agent, headers }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
        });
        req.setTimeout(15000, () => req.destroy(new Error(`timeout: ${url}`)));
        req.on('error', (e) => {
            if (retry && req.reusedSocket && e.code === 'ECONNRESET') {
                stats.retried++;
                get(agent, url, headers, stats, false).then(resolve, reject);
            }
            else reject(e);
        });
        req.end();
    });
}

async function statusPage(url) {
    const r = await get(new http.Agent(), url, {}, { retried: 0 });
    const metric = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.body)?.[1]);
    return {
        live: metric('oauth2_sessions_live'),
        capacity: metric('oauth2_sessions_capacity'),
        evicted: metric('oauth2_sessions_evicted_total'),
        refused: metric('oauth2_sessions_refused_total'),
        repairs: metric('oauth2_shm_repairs_total'),
    };
}

/* ------------------------------------------------------------- set-up */

if (!fs.existsSync(MODULE_PATH)) {
    console.error(`soak: no module at ${MODULE_PATH} (--module)`);
    process.exit(2);
}
const port = await freePort();
const hosts = { long: `http://127.0.0.1:${port}`, short: `http://127.0.0.2:${port}` };
const accounts = Array.from({ length: 64 }, (_, i) => ({ id: `user${i}`, email: `user${i}@example.com`, email_verified: true, groups: ['soak'] }));
const backend = await startBackend();
const op = await startProvider({
    accounts,
    clients: [{
        client_id: 'soak',
        client_secret: 'soak-secret',
        redirect_uris: [`${hosts.long}/oauth2/callback`, `${hosts.short}/oauth2/callback`],
    }],
    ttl: { Session: 86400, Grant: 86400 },
});
const protectedPlace = `
    AuthType oauth2
    Require valid-user
    Header always set X-Soak-User "expr=%{REMOTE_USER}"`;
const apache = await createApache({
    withModule: true,
    port,
    mpmConfig: [`StartServers ${CHILDREN}`, `ServerLimit ${CHILDREN}`, `ThreadLimit ${THREADS}`,
        `ThreadsPerChild ${THREADS}`, 'MinSpareThreads 1', `MaxSpareThreads ${CHILDREN * THREADS}`,
        `MaxRequestWorkers ${CHILDREN * THREADS}`, 'MaxConnectionsPerChild 0'].join('\n'),
    logLevel: 'warn',
    // glibc gives threads arenas of their own, and each grows to the peak
    // of the work its thread happened to do (a login's OpenSSL, libcurl and
    // json-c allocations): RSS then climbs until every thread has done
    // everything. Two arenas keep RSS about what is in use.
    env: { MALLOC_ARENA_MAX: '2' },
    files: { 'htdocs/static/page.html': '<!doctype html><title>soak</title>protected page\n' },
    config: (a) => `
Listen 127.0.0.2:${port}
MaxKeepAliveRequests 1000
# Idle connections outlive the short sessions: expiry is then seen on the
# connection that remembered the session.
KeepAliveTimeout 10
# Threads keep at most this much freed memory (default 2 MB each): what
# stays in RSS is what is used.
MaxMemFree 16
OAuth2Provider ${op.issuer}
OAuth2ClientID soak
OAuth2ClientSecret soak-secret
OAuth2Secret soak-secret-0123456789abcdefghijklmnopqrstuvwxyz
OAuth2SessionStore shm:20000
<Location /static>${protectedPlace}
</Location>
<Location /app>${protectedPlace}
    ProxyPass ${backend.url}/app
</Location>
<Location /oauth2-status>
    SetHandler oauth2-status
    Require ip 127.0.0.1
</Location>
<VirtualHost 127.0.0.2:${port}>
    ServerName 127.0.0.2
    OAuth2SessionTimeout ${SHORT_TIMEOUT}
</VirtualHost>
`,
});
await apache.start();

/* --------------------------------------------------------------- load */

const stats = { requests: 0, backend: 0, logins: 0, logouts: 0, expiries: 0, kept: 0, errors: 0, retried: 0, errorSamples: [] };
const kept = []; // sessions left alive: {host, cookie, user}
let warm = null; // RSS after the warm-up
const series = [];

function error(what) {
    stats.errors++;
    if (stats.errorSamples.length < 20) stats.errorSamples.push(what);
}

function sample(label) {
    const pids = children(apache.pid);
    const mem = Object.fromEntries(pids.map((p) => [p, memKiB(p)]));
    series.push({ label, requests: stats.requests, mem });
    return { pids, mem };
}

async function worker(id) {
    const random = rng(Number(args.seed) * 1000 + id + 1);
    const user = `user${id % accounts.length}`;
    const short = id % 4 === 3; // a quarter of the workers on the short host
    const base = short ? hosts.short : hosts.long;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const browser = newBrowser();
    while (stats.requests < TARGET) {
        // Log in: the full code flow (provider session kept, so no form after the first).
        let cookie;
        try {
            const res = await login(browser, `${base}/oauth2/start?rd=/static/page.html`, { username: user });
            if (res.final.status !== 200) throw new Error(`login ended with ${res.final.status}`);
            cookie = browser.cookie('oauth2_session', base);
            if (!cookie) throw new Error('no session cookie');
            stats.logins++;
        }
        catch (e) {
            error(`${user} login: ${e.message}`);
            await sleep(100);
            continue;
        }
        const headers = { Cookie: `oauth2_session=${cookie}`, Accept: 'text/html' };
        const run = random() < 0.15 ? 5 + Math.floor(random() * 20) : 100 + Math.floor(random() * 1500);
        for (let i = 0; i < run && stats.requests < TARGET; i++) {
            const viaBackend = (stats.requests + id) % 25 === 0;
            const url = viaBackend ? `${base}/app/soak/${i}` : `${base}/static/page.html`;
            try {
                const r = await get(agent, url, headers, stats);
                const seenUser = viaBackend ? (r.status === 200 ? JSON.parse(r.body).headers['x-forwarded-user'] : undefined) : r.headers['x-soak-user'];
                if (r.status !== 200 || seenUser !== user) error(`${user} ${url}: ${r.status} as ${seenUser}`);
                stats.requests++;
                if (viaBackend) stats.backend++;
                if (!warm && stats.requests >= WARMUP) warm = sample('after warm-up');
            }
            catch (e) {
                error(`${user} ${url}: ${e.message}`);
            }
        }
        // End the session: log out, let it expire (short host), or keep it.
        const end = random();
        let gone = false;
        if (end < 0.4) {
            const r = await get(agent, `${base}/oauth2/logout?rd=/`, headers, stats).catch((e) => ({ status: e.message }));
            if (r.status !== 302) error(`${user} logout: ${r.status}`);
            stats.logouts++;
            gone = true;
        }
        else if (short && end < 0.8) {
            await sleep((SHORT_TIMEOUT + 0.6) * 1000);
            stats.expiries++;
            gone = true;
        }
        else {
            kept.push({ base, cookie, user });
            stats.kept++;
        }
        if (gone) {
            // The old cookie must send the browser to log in, and never serve it.
            const r = await get(agent, `${base}/static/page.html`, headers, stats).catch((e) => ({ status: e.message, headers: {} }));
            if (r.status !== 302 || !String(r.headers.location ?? '').startsWith(op.issuer)) error(`${user} old cookie after ${end < 0.4 ? 'logout' : 'expiry'}: ${r.status}`);
        }
        browser.deleteCookie('oauth2_session');
    }
    agent.destroy();
}

const t0 = Date.now();
const before = sample('start');
const progress = setInterval(() => {
    process.stderr.write(`soak: ${stats.requests} requests, ${stats.logins} logins, ${stats.errors} errors, ${Math.round((Date.now() - t0) / 1000)} s\n`);
    if (stats.requests > WARMUP) sample(`${stats.requests}`);
}, 10000);
await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker(i)));
clearInterval(progress);
const seconds = (Date.now() - t0) / 1000;
const end = sample('end');

/* ------------------------------------------------------------- checks */

// Every kept session still works for its own user (long host: all of them;
// short host: they expire when idle, so they are not counted as alive).
let aliveKept = 0;
const checkAgent = new http.Agent({ keepAlive: true });
for (const k of kept.filter((x) => x.base === hosts.long)) {
    const r = await get(checkAgent, `${k.base}/static/page.html`, { Cookie: `oauth2_session=${k.cookie}`, Accept: 'text/html' }, stats).catch((e) => ({ status: e.message, headers: {} }));
    if (r.status === 200 && r.headers['x-soak-user'] === k.user) aliveKept++;
    else error(`kept session of ${k.user}: ${r.status} as ${r.headers['x-soak-user']}`);
}
const store = await statusPage(`${hosts.long}/oauth2-status`);
// Each login stored a session (its state's replay marker is in the marker
// pool, which takes no slot), and updated the back-channel logout index:
// one entry per sid (a worker keeps its provider session, so one sid each)
// and one per user. Logouts removed sessions; expired sessions may stay
// until a write sweeps their slot.
const indexes = 2 * Math.min(WORKERS, accounts.length);
const low = aliveKept;
const high = stats.logins - stats.logouts + indexes;

const failures = [];
if (stats.errors !== 0) failures.push(`${stats.errors} errors`);
if (stats.requests < TARGET) failures.push(`only ${stats.requests} of ${TARGET} requests`);
const samePids = JSON.stringify(before.pids) === JSON.stringify(end.pids);
if (!samePids) failures.push(`the children changed: ${before.pids} -> ${end.pids}`);
const rssLines = [];
const mib = (k) => (k / 1024).toFixed(1);
for (const pid of end.pids) {
    const a = (warm ?? before).mem[pid];
    const b = end.mem[pid];
    const first = before.mem[pid];
    if (!a || !b || !first) continue;
    const allowed = Math.max(TOL_MIB * 1024, (a.anon * TOL_PCT) / 100);
    const grew = b.anon - a.anon;
    const ok = grew <= allowed;
    rssLines.push(`  child ${pid}: RSS ${mib(first.rss)} MiB at start, ${mib(a.rss)} after warm-up, ${mib(b.rss)} at the end; `
        + `of which its own (RssAnon) ${mib(first.anon)} / ${mib(a.anon)} / ${mib(b.anon)} MiB (${grew >= 0 ? '+' : ''}${mib(grew)} after warm-up, allowed +${mib(allowed)})`
        + ` and shared session table pages (RssShmem) ${mib(first.shmem)} / ${mib(a.shmem)} / ${mib(b.shmem)} MiB${ok ? '' : '  <-- over'}`);
    if (!ok) failures.push(`child ${pid} grew by ${mib(grew)} MiB (RssAnon)`);
}
if (!(store.live >= low && store.live <= high)) failures.push(`sessions_live ${store.live} outside [${low}, ${high}]`);
if (store.evicted !== 0) failures.push(`${store.evicted} sessions evicted`);
if (store.refused !== 0) failures.push(`${store.refused} sessions refused (no room)`);
if (store.repairs !== 0) failures.push(`${store.repairs} repairs of the session table (a child died writing it)`);

console.log(`soak: ${stats.requests} authenticated requests (${stats.backend} through mod_proxy) in ${seconds.toFixed(1)} s `
    + `(${Math.round(stats.requests / seconds)}/s) on ${WORKERS} keep-alive connections, module ${MODULE_PATH}`);
console.log(`  logins ${stats.logins}, logouts ${stats.logouts}, expiries ${stats.expiries} (OAuth2SessionTimeout ${SHORT_TIMEOUT} s on 127.0.0.2), sessions kept ${stats.kept}, reconnect retries ${stats.retried}`);
console.log(`  errors: ${stats.errors}${stats.errorSamples.length ? `\n    ${stats.errorSamples.join('\n    ')}` : ''}`);
console.log(`  Apache children (from /proc/PID/status; target: RssAnon growth after a warm-up of ${WARMUP} requests within max(${TOL_MIB} MiB, ${TOL_PCT} %)):`);
console.log(rssLines.join('\n'));
console.log(`  RssAnon series (KiB, per child): ${series.map((x) => `${x.label}: ${Object.values(x.mem).map((m) => m?.anon).join('/')}`).join('; ')}`);
console.log(`  store: oauth2_sessions_live ${store.live} (expected ${low}..${high}: ${aliveKept} kept sessions verified .. logins - logouts + ${indexes} index entries), `
    + `capacity ${store.capacity}, evicted ${store.evicted}, refused ${store.refused}, repairs ${store.repairs}`);
console.log(failures.length ? `soak: FAILED: ${failures.join('; ')}` : 'soak: all targets met');

await apache.stop();
await op.stop();
await backend.stop();
process.exit(failures.length ? 1 : 0);

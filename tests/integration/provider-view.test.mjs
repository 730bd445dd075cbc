// provider-view.test.mjs: one view of the provider for the whole server
// (issue 15 item 3, SPEC "Provider metadata and keys are one view for the
// whole server (all workers), kept across graceful restarts").
//
// Apache runs prefork with 4 children. Each test holds 4 keep-alive
// connections ("lanes"): a prefork child serves one connection at a time, so
// lane i is served by one process for as long as it stays open (the access
// log's pid=%P proves which). Measured, with the provider's own request
// counts: discovery and JWKS are fetched once per server for N logins over 4
// processes; the view survives a graceful restart and is dropped by a full
// one; after an outage (the provider stopped, or its JWKS failing) every
// process logs in again within 5 s of the provider's return; a black-holed
// provider holds one process, the others answer 502 in bounded time; a
// fetcher killed mid-fetch holds the turn only until its lease ends; a
// signing key rotated within 30 s of the last JWKS fetch works at once on
// every process, and the next unknown kid within 30 s of that refetch does
// not refetch on any of them. Last, virtual hosts with different providers
// each have their own entry (and back-off), and hosts with the same one
// share it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, SECRET } from './lib/stack.mjs';
import { createApache } from './lib/apache.mjs';
import { startProvider } from './lib/provider.mjs';
import { startBackend } from './lib/backend.mjs';
import { freePort, waitFor } from './lib/ports.mjs';
import { newBrowser, login, request } from './lib/http.mjs';

const WORKERS = 4;
const PREFORK = ['StartServers 4', 'MinSpareServers 1', 'MaxSpareServers 4', 'ServerLimit 4',
    'MaxRequestWorkers 4', 'MaxConnectionsPerChild 0'].join('\n');
const TIMEOUT_S = 6; // OAuth2HTTPTimeout: a black-holed fetch ends after this
const RECOVERY_MS = 5000; // every process logs in within this of the return
const OUTAGE_MS = 8000; // long enough for a per-process back-off to reach 8 s
const LEASE_MS = (TIMEOUT_S + 5) * 1000; // the fetch lease: timeout + 5 s

describe('one provider view for all worker processes', () => {
    let s;
    let lanes = [];

    before(async () => {
        s = await startStack({
            apache: { mpm: 'prefork', mpmConfig: PREFORK },
            oauth2: `OAuth2HTTPTimeout ${TIMEOUT_S}`,
            locations: () => `
KeepAliveTimeout 60
MaxKeepAliveRequests 0
<Location /status>
    SetHandler oauth2-status
</Location>`,
        });
    });
    after(async () => {
        unpin();
        s?.op.clearFaults();
        await s?.stop();
    });

    /* Opens the lanes one after the other: while the earlier ones hold
     * their processes, each new connection must go to another one. */
    async function pin() {
        unpin();
        for (let i = 0; i < WORKERS; i++) {
            const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
            const tag = `/public/pin-${process.hrtime.bigint()}-${i}`;
            const r = await request(s.url(tag), { agent });
            assert.equal(r.status, 200);
            const line = await s.apache.waitForLog(new RegExp(`"GET ${tag} HTTP/1\\.1" 200 .*pid=\\d+`), { log: 'access' });
            lanes.push({ agent, pid: line.match(/pid=(\d+)/)[1], n: 0 });
        }
        assert.equal(new Set(lanes.map((l) => l.pid)).size, WORKERS, 'four lanes, four processes');
    }

    function unpin() {
        for (const l of lanes) l.agent.destroy();
        lanes = [];
    }

    /* Full restarts (SIGHUP) drop the view: cold caches, no back-off. The
     * lanes go first, or the old children would wait for them. */
    async function cold() {
        unpin();
        s.op.clearFaults();
        await s.apache.restart();
        await pin();
        s.op.resetCounts();
    }

    function browserOn(lane) {
        return newBrowser({ agents: { [new URL(s.url('/')).origin]: lane.agent } });
    }

    /* The pid that served a request (by its unique path). */
    async function servedBy(path) {
        const line = await s.apache.waitForLog(new RegExp(`"GET ${path.replace(/[?]/g, '\\?')} HTTP/1\\.1" \\d+ .*pid=\\d+`), { log: 'access' });
        return line.match(/pid=(\d+)/)[1];
    }

    /* A full login on a lane: {status, pid} (status of the page reached:
     * 200 the protected page, 401/502 the callback or start page). */
    async function loginOn(lane) {
        const path = `/app/lane-${lane.pid}-${lane.n++}`;
        const res = await login(browserOn(lane), s.url(`/oauth2/start?rd=${path}`), { timeout: 15000 });
        const status = res.final.status;
        if (status === 200) {
            assert.equal(res.final.json().headers['x-forwarded-user'], 'alice');
            assert.equal(await servedBy(path), lane.pid, 'the lane stays on its process');
        }
        return { status, res };
    }

    async function statusPage(lane) {
        const r = await request(s.url('/status'), { agent: lane.agent });
        assert.equal(r.status, 200);
        return r.body;
    }

    const counter = (text, name) => {
        const m = text.match(new RegExp(`^${name}(\\{[^}]*\\})? (\\d+)$`, 'm'));
        return m ? { labels: m[1] ?? '', value: Number(m[2]) } : null;
    };

    it('fetches discovery and JWKS once for 8 logins over 4 processes; the counters are server-wide', async (t) => {
        await cold();
        const round1 = await Promise.all(lanes.map((l) => loginOn(l)));
        const round2 = [];
        for (const l of lanes) round2.push(await loginOn(l));
        t.diagnostic(`8 logins on ${WORKERS} processes (4 at once, then 4 in turn): ${s.op.counts.discovery ?? 0} discovery and ${s.op.counts.jwks ?? 0} JWKS fetches`);
        for (const r of [...round1, ...round2]) assert.equal(r.status, 200);
        assert.equal(s.op.counts.discovery, 1, 'one discovery fetch for the server');
        assert.equal(s.op.counts.jwks, 1, 'one JWKS fetch for the server');
        for (const l of lanes) {
            const text = await statusPage(l);
            for (const name of ['oauth2_discovery_fetches_total', 'oauth2_jwks_fetches_total']) {
                const c = counter(text, name);
                assert.ok(c, `${name} on ${l.pid}`);
                assert.equal(c.labels, '', `${name} has no pid label`);
                assert.equal(c.value, 1, `${name} on process ${l.pid}`);
            }
            assert.equal(counter(text, 'oauth2_fetch_failures_total').value, 0);
        }
    });

    it('keeps the view across a graceful restart; a full restart fetches again', async () => {
        await cold();
        for (const l of lanes) assert.equal((await loginOn(l)).status, 200);
        assert.equal(s.op.counts.discovery, 1);
        unpin();
        await s.apache.graceful();
        await pin();
        s.op.resetCounts();
        for (const l of lanes) assert.equal((await loginOn(l)).status, 200);
        assert.equal(s.op.counts.discovery ?? 0, 0, 'no discovery fetch after a graceful restart');
        assert.equal(s.op.counts.jwks ?? 0, 0, 'no JWKS fetch after a graceful restart');
        await cold();
        for (const l of lanes) assert.equal((await loginOn(l)).status, 200);
        assert.equal(s.op.counts.discovery, 1, 'a full restart refetches');
        assert.equal(s.op.counts.jwks, 1);
    });

    /* Every lane tries a login (or only its start) until the outage ends,
     * then until it logs in: the time each took after the return. */
    async function outage(t, { down, up, fullLogin }) {
        await cold();
        await down();
        const until = Date.now() + OUTAGE_MS;
        const failed = await Promise.all(lanes.map(async (l) => {
            let n = 0;
            while (Date.now() < until) {
                if (fullLogin) {
                    const r = await loginOn(l);
                    assert.equal(r.status, 502, 'a login fails while the provider is down');
                }
                else {
                    const r = await request(s.url('/oauth2/start?rd=/app/o'), { agent: l.agent });
                    assert.equal(r.status, 502, 'a login cannot start while the provider is down');
                }
                n++;
                await sleep(250);
            }
            return n;
        }));
        const during = { discovery: s.op.counts.discovery ?? 0, jwks: s.op.counts.jwks ?? 0 };
        await up();
        const back = Date.now();
        const recovered = await Promise.all(lanes.map(async (l) => {
            for (;;) {
                const r = await loginOn(l);
                if (r.status === 200) return { pid: l.pid, ms: Date.now() - back };
                assert.equal(r.status, 502);
                assert.ok(Date.now() - back < 20000, `process ${l.pid} still fails 20 s after the return`);
                await sleep(100);
            }
        }));
        t.diagnostic(`${OUTAGE_MS / 1000} s outage (${failed.join('+')} failed attempts; the provider saw ${during.discovery} discovery and ${during.jwks} JWKS requests); logins work again after: ${recovered.map((r) => `pid ${r.pid} ${r.ms} ms`).join(', ')}`);
        assert.equal(new Set(recovered.map((r) => r.pid)).size, WORKERS, 'four processes logged in');
        for (const r of recovered) assert.ok(r.ms <= RECOVERY_MS, `process ${r.pid} logged in ${r.ms} ms after the provider's return`);
    }

    it('every process logs in within 5 s of the return of a stopped provider', async (t) => {
        await outage(t, { down: () => s.op.pause(), up: () => s.op.resume(), fullLogin: false });
    });

    it('every process logs in within 5 s of the return of a failing JWKS endpoint', async (t) => {
        await outage(t, {
            down: () => s.op.fail('jwks', { mode: 'status', status: 503 }),
            up: () => s.op.clearFaults(),
            fullLogin: true,
        });
    });

    it('a black-holed provider holds one process for the timeout; the others answer 502 at once', async (t) => {
        await cold();
        s.op.fail('discovery', { mode: 'hang' });
        const times = await Promise.all(lanes.map(async (l) => {
            const t0 = Date.now();
            const r = await request(s.url('/oauth2/start?rd=/app/h'), { agent: l.agent, timeout: 20000 });
            return { status: r.status, ms: Date.now() - t0 };
        }));
        s.op.clearFaults();
        times.sort((a, b) => a.ms - b.ms);
        t.diagnostic(`discovery black-holed, ${WORKERS} logins at once: ${times.map((x) => `${x.status} in ${x.ms} ms`).join(', ')}; ${s.op.counts.discovery} discovery request(s)`);
        for (const x of times) assert.equal(x.status, 502);
        assert.equal(s.op.counts.discovery, 1, 'one fetch at a time for the server');
        assert.ok(times[WORKERS - 1].ms >= (TIMEOUT_S - 1) * 1000, 'the fetcher waited for the timeout');
        for (const x of times.slice(0, WORKERS - 1)) {
            assert.ok(x.ms < (TIMEOUT_S - 2) * 1000, `a process that does not fetch answers in ${x.ms} ms`);
        }
    });

    it('a fetcher killed mid-fetch holds the turn only until its lease ends', async (t) => {
        await cold();
        s.op.fail('discovery', { mode: 'hang' });
        const [fetcher, other] = lanes;
        const started = Date.now();
        const pending = request(s.url('/oauth2/start?rd=/app/k'), { agent: fetcher.agent, timeout: 20000 }).catch((e) => e);
        await waitFor(() => s.op.counts.discovery === 1, { what: 'the fetch to reach the provider' });
        process.kill(Number(fetcher.pid), 'SIGKILL');
        await pending;
        s.op.clearFaults();
        const answers = [];
        for (;;) {
            const t0 = Date.now();
            const r = await loginOn(other);
            answers.push({ status: r.status, ms: Date.now() - t0 });
            if (r.status === 200) break;
            assert.equal(r.status, 502);
            assert.ok(Date.now() - t0 < (TIMEOUT_S - 2) * 1000, 'a waiter answers in bounded time');
            assert.ok(Date.now() - started < LEASE_MS + 5000, 'the dead fetcher\'s turn ended');
            await sleep(250);
        }
        const ms = Date.now() - started;
        t.diagnostic(`fetcher ${fetcher.pid} killed mid-fetch; process ${other.pid} logged in ${ms} ms after that fetch began (lease ${LEASE_MS} ms), after ${answers.length - 1} quick 502s`);
        assert.ok(ms <= LEASE_MS + 3000, `logged in ${ms} ms after the dead fetch began`);
    });

    it('a signing key rotated within 30 s of the last JWKS fetch works at once on every process', async (t) => {
        await cold();
        for (const l of lanes) assert.equal((await loginOn(l)).status, 200);
        const fetched = s.op.requests.filter((r) => r.endpoint === 'jwks').at(-1).time;
        const kid = s.op.rotateKey('RS256');
        const rotated = Date.now();
        s.op.resetCounts();
        const after = [];
        for (const l of lanes) after.push({ pid: l.pid, ...(await loginOn(l)) });
        const refetch = s.op.requests.filter((r) => r.endpoint === 'jwks');
        t.diagnostic(`key rotated ${rotated - fetched} ms after the last JWKS fetch; logins with the new kid: ${after.map((r) => `pid ${r.pid} ${r.status}`).join(', ')}; ${refetch.length} JWKS fetch(es)${refetch.length ? `, ${refetch[0].time - rotated} ms after the rotation` : ''}`);
        for (const r of after) assert.equal(r.status, 200, `a login signed with ${kid} on process ${r.pid}`);
        assert.equal(refetch.length, 1, 'one refetch for the whole server');

        // The refetch for an unknown kid just happened: within 30 s of it,
        // another unknown kid refetches nowhere (the interval is shared).
        s.op.rotateKey('RS256');
        s.op.resetCounts();
        const mark = s.apache.mark();
        for (const l of lanes) {
            const r = await loginOn(l);
            assert.equal(r.status, 401, `process ${l.pid}: no second refetch within 30 s`);
            assert.match(r.res.final.body, /could not be verified/);
        }
        assert.equal(s.op.counts.jwks ?? 0, 0, 'no JWKS fetch');
        assert.equal(s.apache.errorLog({ since: mark }).split('\n').filter((l) => /OA2207: login failed: ID token/.test(l)).length, WORKERS);
    });
});

describe('virtual hosts and their providers', () => {
    const env = {};

    function host(name, op, client) {
        return `
<VirtualHost 127.0.0.1:${env.ports[name]}>
    ServerName 127.0.0.1:${env.ports[name]}
    OAuth2Provider ${op.issuer}
    OAuth2ClientID ${client}
    OAuth2ClientSecret ${client}-secret
    OAuth2Secret ${SECRET}
    OAuth2Cookie oa2_${name}
    <Location /app>
        AuthType oauth2
        Require valid-user
        ProxyPass ${env.backend.url}/app
    </Location>
    <Location /status>
        SetHandler oauth2-status
    </Location>
</VirtualHost>`;
    }

    before(async () => {
        env.ports = { a: await freePort(), b: await freePort(), c: await freePort() };
        const cb = (name) => `http://127.0.0.1:${env.ports[name]}/oauth2/callback`;
        env.backend = await startBackend();
        env.op1 = await startProvider({ clients: [{ client_id: 'one', client_secret: 'one-secret', redirect_uris: [cb('a'), cb('c')] }] });
        env.op2 = await startProvider({ clients: [{ client_id: 'two', client_secret: 'two-secret', redirect_uris: [cb('b')] }] });
        env.apache = await createApache({
            withModule: true,
            port: env.ports.a,
            logLevel: 'info auth_oauth2:debug',
            config: () => `
Listen 127.0.0.1:${env.ports.b}
Listen 127.0.0.1:${env.ports.c}
${host('a', env.op1, 'one')}
${host('b', env.op2, 'two')}
${host('c', env.op1, 'one')}`,
        });
        await env.apache.start();
    });
    after(async () => {
        await env.apache?.stop();
        await env.op1?.stop();
        await env.op2?.stop();
        await env.backend?.stop();
    });

    const at = (name, p) => `http://127.0.0.1:${env.ports[name]}${p}`;
    const loginAt = async (name) => (await login(newBrowser(), at(name, '/app/x'))).final.status;

    it('each provider has its own entry and back-off; hosts with the same provider share one', async () => {
        env.op1.resetCounts();
        env.op2.resetCounts();
        env.op2.fail('discovery', { mode: 'status', status: 500 });
        assert.equal((await request(at('b', '/oauth2/start?rd=/app/x'))).status, 502, 'the failing provider');
        assert.equal(await loginAt('a'), 200, 'another provider is not in its back-off');
        assert.equal(await loginAt('c'), 200);
        env.op2.clearFaults();
        await sleep(1100); // the back-off after one failure
        assert.equal(await loginAt('b'), 200);
        assert.equal(await loginAt('a'), 200);
        assert.deepEqual([env.op1.counts.discovery, env.op1.counts.jwks], [1, 1], 'a and c: one view');
        assert.deepEqual([env.op2.counts.discovery, env.op2.counts.jwks], [2, 1], 'b: a failure, then one fetch');
        const metric = async (name) => (await request(at(name, '/status'))).body.match(/^oauth2_discovery_fetches_total (\d+)$/m)?.[1];
        assert.equal(await metric('a'), '1');
        assert.equal(await metric('c'), '1');
        assert.equal(await metric('b'), '1');
        assert.match((await request(at('b', '/status'))).body, /^oauth2_fetch_failures_total 1$/m);
    });
});

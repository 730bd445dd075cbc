// metrics.test.mjs: SetHandler oauth2-status as a Prometheus server scrapes
// it (issue 17 §1): Prometheus's own `promtool check metrics` accepts every
// scrape; the server-wide counters (logins, failures, refusals, refreshes,
// logouts, bearer tokens, provider calls with their latency histograms)
// count what happened, whichever child answers, and go on across a
// graceful and a plain restart; the module's version is in the output and
// in the error log at startup; stores that cannot count their sessions
// (redis, cookie sessions) show no oauth2_sessions_live rather than a
// wrong one.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { REPO_ROOT } from './lib/apache.mjs';
import { startRedis } from './lib/redis.mjs';
import { newBrowser, login, request } from './lib/http.mjs';
import { waitFor } from './lib/ports.mjs';

const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const VERSION = /AC_INIT\(\[mod_auth_oauth2\], \[([^\]]+)\]/.exec(
    fs.readFileSync(path.join(REPO_ROOT, 'configure.ac'), 'utf8'))[1];
const AUDIENCE = 'https://api.example.com';

const STATUS = `
<Location /status>
    SetHandler oauth2-status
</Location>
`;

/* promtool check metrics on a scrape: exit code and what it said. */
function promtool(text) {
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
    if (r.error) throw r.error;
    return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/* A scrape, checked by promtool, as {text, value(series)}. */
async function scrape(s) {
    const r = await request(s.url('/status'));
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    const check = promtool(r.body);
    assert.deepEqual(check, { code: 0, out: '' }, `promtool check metrics:\n${check.out}\n--- scrape ---\n${r.body}`);
    const values = new Map();
    for (const line of r.body.split('\n')) {
        const m = /^([a-z0-9_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (m) values.set(m[1], Number(m[2]));
    }
    return {
        text: r.body,
        value: (series) => {
            assert.ok(values.has(series), `${series} in the scrape:\n${r.body}`);
            return values.get(series);
        },
        has: (series) => values.has(series),
    };
}

/* Every family has # HELP and # TYPE before its samples. */
function assertDocumented(text) {
    const help = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
    const type = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    for (const m of text.matchAll(/^([a-z0-9_]+)[{ ]/gm)) {
        const name = m[1];
        const family = type.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(help.has(family) && type.has(family), `${name} has # HELP and # TYPE`);
    }
}

describe('oauth2-status: server-wide counters in Prometheus format', () => {
    let s;
    let alice;
    before(async () => {
        s = await startStack({
            provider: { refreshTokens: true, ttl: { AccessToken: 4 } },
            client: { grant_types: ['authorization_code', 'refresh_token'] },
            locations: (st) => `${STATUS}
<Location /admin>
    AuthType oauth2
    Require oauth2-group nobody-is-in-this
    ProxyPass ${st.backend.url}/admin
</Location>
<Location /token>
    AuthType oauth2
    Require valid-user
    OAuth2PassAccessToken On
    ProxyPass ${st.backend.url}/token
</Location>
<Location /api>
    AuthType oauth2
    OAuth2AcceptBearer On
    OAuth2BearerAudience ${AUDIENCE}
    Require valid-user
    ProxyPass ${st.backend.url}/api
</Location>
`,
        });
    });
    after(async () => s?.stop());

    it('names the version in the error log at startup (one NOTICE line) and in oauth2_build_info', async () => {
        const line = await s.apache.waitForLog(/OA2050:/);
        assert.match(line, /\[auth_oauth2:notice\]/);
        assert.match(line, new RegExp(`OA2050: mod_auth_oauth2 ${VERSION.replace(/\./g, '\\.')} configured \\(counters started\\)`));
        assert.equal(s.apache.errorLog().split('\n').filter((l) => /OA2050:/.test(l)).length, 1);
        const m = await scrape(s);
        assert.equal(m.value(`oauth2_build_info{version="${VERSION}"}`), 1);
        assertDocumented(m.text);
    });

    it('counts logins, a failed callback, a refusal, a refresh, bearer tokens and a logout', async () => {
        alice = newBrowser();
        const r = await login(alice, s.url('/app/one'));
        assert.equal(r.final.status, 200);
        const bob = newBrowser();
        await login(bob, s.url('/app/two'), { username: 'bob' });
        // A callback without a state: a failed login (no_state).
        assert.equal((await newBrowser().get(s.url('/oauth2/callback?code=made-up'))).status, 400);
        // A logged-in user refused by Require oauth2-group.
        assert.equal((await alice.get(s.url('/admin/x'))).status, 403);
        // Bearer tokens: one the provider signed, one it did not.
        const good = await s.op.accessToken({ aud: AUDIENCE, sub: 'svc' });
        const api = (t) => request(s.url('/api/x'), { headers: { Authorization: `Bearer ${t}`, Accept: 'application/json' } });
        assert.equal((await api(good)).status, 200);
        assert.equal((await api(good)).status, 200, 'the cached token counts as accepted too');
        assert.equal((await api('not.a.token')).status, 401);
        // The access token lives 4 s: /token refreshes it 2 s before it expires
        // (each request before that passes the current one).
        await waitFor(async () => {
            assert.equal((await alice.get(s.url('/token/x'), { headers: { Accept: 'application/json' } })).status, 200);
            return (await scrape(s)).value('oauth2_sessions_refreshed_total') >= 1;
        }, { timeout: 15000, interval: 250, what: 'a refresh of the access token' });
        // Bob logs out.
        assert.equal((await bob.get(s.url('/oauth2/logout?rd=/public/bye'))).status, 302);

        const m = await scrape(s);
        assertDocumented(m.text);
        assert.equal(m.value('oauth2_logins_started_total'), 2);
        assert.equal(m.value('oauth2_logins_total'), 2);
        assert.equal(m.value('oauth2_sessions_created_total'), 2);
        assert.equal(m.value('oauth2_login_failures_total{reason="no_state"}'), 1);
        assert.equal(m.value('oauth2_login_failures_total{reason="code_refused"}'), 0);
        assert.equal(m.value('oauth2_authz_refusals_total{rule="oauth2-group"}'), 1);
        assert.equal(m.value('oauth2_authz_refusals_total{rule="oauth2-claim"}'), 0);
        assert.equal(m.value('oauth2_sessions_refreshed_total'), 1);
        assert.equal(m.value('oauth2_sessions_ended_total{reason="logout"}'), 1);
        assert.equal(m.value('oauth2_sessions_ended_total{reason="refresh_failed"}'), 0);
        assert.equal(m.value('oauth2_bearer_tokens_total{result="accepted"}'), 2);
        assert.equal(m.value('oauth2_bearer_tokens_total{result="refused"}'), 1);
        assert.equal(m.value('oauth2_store_errors_total{operation="put"}'), 0);
        // Sessions, not table entries: alice's lives, bob's ended.
        assert.equal(m.value('oauth2_sessions_live'), 1);
        assert.equal(m.value('oauth2_sessions_evicted_total'), 0);
        assert.equal(m.value('oauth2_store_evictions_total'), 0);
        // Provider calls: two code redemptions and a refresh, two userinfo
        // calls, the discovery document and the JWKS, each timed.
        assert.equal(m.value('oauth2_provider_requests_total{endpoint="token",outcome="2xx"}'), 3);
        assert.equal(m.value('oauth2_provider_requests_total{endpoint="userinfo",outcome="2xx"}'), 2);
        assert.ok(m.value('oauth2_provider_requests_total{endpoint="discovery",outcome="2xx"}') >= 1);
        assert.ok(m.value('oauth2_provider_requests_total{endpoint="jwks",outcome="2xx"}') >= 1);
        assert.equal(m.value('oauth2_provider_request_duration_seconds_count{endpoint="token"}'), 3);
        assert.equal(m.value('oauth2_provider_request_duration_seconds_bucket{endpoint="token",le="+Inf"}'), 3);
        assert.ok(m.value('oauth2_provider_request_duration_seconds_sum{endpoint="token"}') > 0);
        assert.ok(!m.has('oauth2_provider_requests_total{endpoint="github_api",outcome="2xx"}'), 'an endpoint never called shows no series');
        // The README's Monitoring section lists every family of the scrape.
        const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
        const monitoring = readme.slice(readme.indexOf('\n## Monitoring'), readme.indexOf('\n## Sessions'));
        for (const [, family] of m.text.matchAll(/^# TYPE (\S+) /gm)) {
            assert.ok(monitoring.includes(`\`${family}\``), `README's Monitoring lists ${family}`);
        }
    });

    it('goes on across a graceful restart and a plain restart: counters continue, nothing resets', async () => {
        const before = await scrape(s);
        const mark = s.apache.mark();
        await s.apache.graceful();
        const line = await s.apache.waitForLog(/OA2050:/, { since: mark });
        assert.match(line, /configured \(counters kept across the restart\)/);
        const after = await scrape(s);
        for (const series of ['oauth2_logins_total', 'oauth2_login_failures_total{reason="no_state"}',
            'oauth2_authz_refusals_total{rule="oauth2-group"}', 'oauth2_sessions_refreshed_total',
            'oauth2_bearer_tokens_total{result="accepted"}', 'oauth2_counters_start_time_seconds',
            'oauth2_provider_requests_total{endpoint="token",outcome="2xx"}']) {
            assert.equal(after.value(series), before.value(series), `${series} after the graceful restart`);
        }
        // New children of the new generation add to the same counters.
        await login(newBrowser(), s.url('/app/three'));
        assert.equal((await alice.get(s.url('/admin/y'))).status, 403);
        const more = await scrape(s);
        assert.equal(more.value('oauth2_logins_total'), before.value('oauth2_logins_total') + 1);
        assert.equal(more.value('oauth2_authz_refusals_total{rule="oauth2-group"}'),
            before.value('oauth2_authz_refusals_total{rule="oauth2-group"}') + 1);
        assert.equal(more.value('oauth2_provider_requests_total{endpoint="token",outcome="2xx"}'),
            before.value('oauth2_provider_requests_total{endpoint="token",outcome="2xx"}') + 1);

        const mark2 = s.apache.mark();
        await s.apache.restart();
        await s.apache.waitForLog(/OA2050: .*counters kept across the restart/, { since: mark2 });
        const restarted = await scrape(s);
        assert.equal(restarted.value('oauth2_logins_total'), more.value('oauth2_logins_total'));
        assert.equal(restarted.value('oauth2_counters_start_time_seconds'), before.value('oauth2_counters_start_time_seconds'));
    });
});

describe('oauth2-status: live sessions only where the store can count them', () => {
    it('shows oauth2_sessions_live for shm, and none for a redis store or cookie sessions', async () => {
        const redis = await startRedis();
        const stacks = [];
        try {
            for (const store of ['shm', redis.spec, 'cookie']) {
                const s = await startStack({
                    oauth2: `OAuth2SessionStore ${store}`,
                    apache: { modules: ['socache_redis'] },
                    locations: () => STATUS,
                });
                stacks.push(s);
                const b = newBrowser();
                await login(b, s.url('/app/one'));
                const m = await scrape(s);
                assert.equal(m.value('oauth2_logins_total'), 1, store);
                if (store === 'shm') {
                    assert.equal(m.value('oauth2_sessions_live'), 1, 'one login, one session');
                }
                else {
                    assert.ok(!m.has('oauth2_sessions_live'), `${store}: the store cannot count sessions: no metric rather than a wrong one`);
                }
            }
        }
        finally {
            for (const s of stacks) await s.stop();
            await redis.stop();
        }
    });
});

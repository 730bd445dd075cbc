// attacks.mjs: helpers shared by the attack catalog (attacks-*.test.mjs).
//
//   BACKEND_BODY                 matches the echo backend's JSON body
//   assertNoBackendBody(res, what)   a login redirect or module page never
//                                carries protected content
//   resolvedHost(res|location, base) host of Location as a browser resolves
//                                it (WHATWG URL, so '\' and tabs count)
//   assertServing(s, browser?)   Apache answers the next requests normally:
//                                /public (200 from the backend) and, given a
//                                logged-in browser, /app/... as that user
//   countLog(apache, regex, mark) lines of the error log since mark
//   readPayloads(path, {comments}) redirect payloads, one a line, literal
//   sample(list, n)              n evenly spaced items (deterministic)
//   setCookies(browser, url, res) stores Set-Cookie lines of a raw response
//   CORPORA_DIR                  tests/data/corpora (or $OAUTH2_CORPORA)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './apache.mjs';
import { request } from './http.mjs';

export const BACKEND_BODY = /"rawHeaders"\s*:/;

export const CORPORA_DIR = process.env.OAUTH2_CORPORA ?? path.resolve(REPO_ROOT, 'tests/data/corpora');
export const CORPORA = ['open-redirects-mod_auth_openidc.txt', 'open-redirects-oauth2-proxy.txt'];

export function assertNoBackendBody(res, what = '') {
    const body = res.body ?? '';
    assert.doesNotMatch(body, BACKEND_BODY, `protected content in a ${res.status} answer ${what}`);
}

export function resolvedHost(resOrLocation, base) {
    const loc = typeof resOrLocation === 'string' ? resOrLocation : resOrLocation.headers.location;
    assert.ok(typeof loc === 'string', `a Location header (got ${JSON.stringify(loc)})`);
    return new URL(loc, base).host;
}

export async function assertServing(s, browser, what = '') {
    const pub = await request(s.url('/public/next'), { timeout: 5000 });
    assert.equal(pub.status, 200, `the next request is served normally ${what}`);
    assert.match(pub.body, BACKEND_BODY);
    if (browser) {
        const r = await browser.get(s.url('/app/next'), { timeout: 5000 });
        assert.equal(r.status, 200, `a logged-in user is served normally ${what}`);
        assert.ok(r.json().headers['x-forwarded-user'], 'with the user');
    }
}

export function countLog(apache, regex, mark) {
    return apache.errorLog({ since: mark }).split('\n').filter((l) => regex.test(l)).length;
}

/** Payload lines taken literally (only the line feed is removed). */
export function readPayloads(file, { comments = false } = {}) {
    return fs.readFileSync(file, 'utf8').split('\n')
        .filter((l) => l !== '' && !(comments && l.startsWith('#')));
}

export function sample(list, n) {
    if (list.length <= n) return [...list];
    const step = list.length / n;
    return Array.from({ length: n }, (_, i) => list[Math.floor(i * step)]);
}

export function corporaAvailable() {
    return CORPORA.every((f) => fs.existsSync(path.join(CORPORA_DIR, f)));
}

export function setCookies(browser, url, res) {
    const lines = res.setCookie ?? [].concat(res.headers?.['set-cookie'] ?? []);
    for (const l of lines) browser.setCookie(url, l);
}

// http.mjs: an HTTP client for the integration tests, on node:http (no fetch).
//
//   request(url, opts) -> Promise<Response>
//       opts: method = 'GET'; headers: object, [[name, value], ...] or a flat
//             [name, value, ...] array (names sent exactly as given, duplicates
//             and odd names such as X_Forwarded_User included; a null value
//             drops a browser default); body (string|Buffer) | form (object ->
//             x-www-form-urlencoded) | json (object); browser (a Browser: its
//             default headers and cookies are sent, its jar is updated);
//             timeout = 10000 ms (rejects with code 'ETIMEDOUT'); agent (an
//             http.Agent, e.g. keepAlive with maxSockets 1 to keep a request on
//             one connection, hence one Apache process; default: the browser's
//             agent for this origin, else a new connection per request).
//       Never follows redirects. Besides the given headers it adds only Host
//       (unless given), Connection: close (unless given, or keep-alive with an
//       agent) and Content-Length (when there is a body, unless given).
//   Response: { status, statusMessage, headers (lower-case names, 'set-cookie'
//       an array), rawHeaders ([name, value, ...] as received), setCookie
//       (array), body (utf-8 string), buffer, url, location (absolute, resolved
//       against url, or null), reused (the request went on a connection
//       the agent kept from an earlier one), json() }
//
//   new Browser({headers, agents}) / newBrowser(opts): a cookie jar plus default
//       headers (default: a browser-like User-Agent and Accept: text/html...;
//       pass headers: {} for none); agents: {origin: http.Agent} for requests
//       to that origin (see request's agent). Methods: request(url, opts), get(url, opts),
//       post(url, form, opts), cookies(url?) -> [{name, value, domain, path,
//       hostOnly, expires, secure, httpOnly, sameSite}], cookie(name, url?) ->
//       value, cookieHeader(url), setCookie(url, setCookieLine),
//       deleteCookie(name), clearCookies(). Cookies honour Domain, Path,
//       Max-Age/Expires (deletion included) and Secure (loopback counts as a
//       secure context, as in Chromium); ports do not separate cookies, as in
//       real browsers. HttpOnly and SameSite are recorded, not enforced.
//
//   login(browser, startUrl, {username = 'alice', password = 'secret',
//         consent = true, maxHops = 25, onRedirect, timeout})
//       -> { hops, final, authorization, callback, loginForm }
//       Walks an authorization code login by hand: GET startUrl (on Apache, or
//       an authorization URL directly), follow redirects, fill the provider's
//       devInteractions login form, approve consent if shown, follow the
//       redirect back to the callback and on to the final page. Each hop is
//       { method, url, form, status, headers, location, setCookie, body,
//       response }. authorization / callback are the hops that requested the
//       authorization endpoint (response_type=...) and the redirect back
//       (code= or error= off the provider). onRedirect(url, hop) may return a
//       replacement URL, or false to stop there (result.stoppedAt = url).
//       Throws if the provider shows the login form again (login refused:
//       unknown user or wrong password), or answers an error page (status >=
//       400 on the provider's origin) unless throwOnProviderError: false; the
//       error carries .result.
//   logout(browser, startUrl, opts) -> same shape: follows redirects and
//       confirms the provider's RP-initiated logout page.
//   follow(browser, url, opts) -> same shape, submitting no forms.
//   parseForms(html) -> [{ id, action, method, inputs: {name: value} }]
//   parseSetCookie(line) -> { name, value, attrs: {lower-case name: value} } | null
//
//   rawRequest(port, bytes, {host = '127.0.0.1', timeout = 5000, end = true})
//       -> { raw (latin1 string), buffer, statusLine, status, headers (lower-
//       case object; repeated names joined in arrays), headerList
//       ([[name, value]]), body, complete, timedOut }
//       Writes the bytes as they are over a net.Socket (malformed requests, bare
//       CR/LF, duplicate headers, very long lines), half-closes unless
//       end: false, and resolves once a full response arrived, the peer closed,
//       or the timeout passed (never rejects on timeout).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const DEFAULT_BROWSER_HEADERS = Object.freeze({
    'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) mod_auth_oauth2-tests',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
});

const MAX_BODY = 64 * 1024 * 1024;

/* ------------------------------------------------------------ headers */

function headerPairs(headers) {
    if (!headers) return [];
    if (Array.isArray(headers)) {
        if (headers.length && Array.isArray(headers[0])) return headers.map(([n, v]) => [n, v]);
        const out = [];
        for (let i = 0; i < headers.length; i += 2) out.push([headers[i], headers[i + 1]]);
        return out;
    }
    return Object.entries(headers);
}

function hasHeader(pairs, name) {
    const n = name.toLowerCase();
    return pairs.some(([k]) => k.toLowerCase() === n);
}

function mergeHeaders(defaults, given) {
    const g = headerPairs(given);
    const d = headerPairs(defaults).filter(([k]) => !hasHeader(g, k));
    return [...d, ...g].filter(([, v]) => v !== null && v !== undefined);
}

function encodeBody(opts, pairs) {
    let body = opts.body;
    let type;
    if (opts.form) {
        body = new URLSearchParams(opts.form).toString();
        type = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        type = 'application/json';
    }
    if (body === undefined || body === null) return { body: null, pairs };
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    const out = [...pairs];
    if (type && !hasHeader(out, 'content-type')) out.push(['Content-Type', type]);
    if (!hasHeader(out, 'content-length') && !hasHeader(out, 'transfer-encoding')) {
        out.push(['Content-Length', String(buf.length)]);
    }
    return { body: buf, pairs: out };
}

function lowerHeaders(rawHeaders) {
    const out = {};
    for (let i = 0; i < rawHeaders.length; i += 2) {
        const k = rawHeaders[i].toLowerCase();
        const v = rawHeaders[i + 1];
        if (k === 'set-cookie') (out[k] ??= []).push(v);
        else if (k in out) out[k] = Array.isArray(out[k]) ? [...out[k], v] : [out[k], v];
        else out[k] = v;
    }
    return out;
}

/* ------------------------------------------------------------ request */

function makeResponse(url, res, buffer) {
    const headers = lowerHeaders(res.rawHeaders);
    const loc = headers.location;
    let location = null;
    if (typeof loc === 'string') {
        try {
            location = new URL(loc, url).href;
        } catch {
            location = loc;
        }
    }
    const body = buffer.toString('utf8');
    return {
        status: res.statusCode,
        statusMessage: res.statusMessage,
        headers,
        rawHeaders: res.rawHeaders,
        setCookie: headers['set-cookie'] ?? [],
        body,
        buffer,
        url,
        location,
        json() {
            return JSON.parse(body);
        },
    };
}

/** One HTTP exchange; see the top of this file. */
export function request(url, opts = {}) {
    const u = new URL(url);
    const browser = opts.browser;
    let pairs = mergeHeaders(browser?.headers, opts.headers);
    if (!hasHeader(pairs, 'host')) pairs.unshift(['Host', u.host]);
    if (browser && opts.cookies !== false && !hasHeader(pairs, 'cookie')) {
        const c = browser.cookieHeader(u.href);
        if (c) pairs.push(['Cookie', c]);
    }
    const encoded = encodeBody(opts, pairs);
    pairs = encoded.pairs;
    const timeout = opts.timeout ?? 10000;
    const lib = u.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request({
            host: u.hostname.replace(/^\[|\]$/g, ''),
            port: u.port || (u.protocol === 'https:' ? 443 : 80),
            path: `${u.pathname}${u.search}`,
            method: opts.method ?? 'GET',
            headers: pairs.flat(),
            setHost: false,
            agent: opts.agent ?? browser?.agents?.[u.origin] ?? false,
            rejectUnauthorized: false,
        });
        const timer = setTimeout(() => {
            req.destroy(Object.assign(new Error(`request timed out after ${timeout} ms: ${opts.method ?? 'GET'} ${url}`), { code: 'ETIMEDOUT' }));
        }, timeout);
        req.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
        req.on('response', (res) => {
            const chunks = [];
            let size = 0;
            res.on('data', (c) => {
                size += c.length;
                if (size > MAX_BODY) req.destroy(new Error(`response body over ${MAX_BODY} bytes`));
                else chunks.push(c);
            });
            res.on('end', () => {
                clearTimeout(timer);
                const response = makeResponse(u.href, res, Buffer.concat(chunks));
                response.reused = req.reusedSocket;
                browser?.storeCookies(u.href, response.setCookie);
                resolve(response);
            });
            res.on('error', (e) => {
                clearTimeout(timer);
                reject(e);
            });
        });
        req.end(encoded.body ?? undefined);
    });
}

/* ---------------------------------------------------------- cookie jar */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

function isIp(host) {
    return net.isIP(host.replace(/^\[|\]$/g, '')) !== 0;
}

function domainMatch(host, domain) {
    if (host === domain) return true;
    return !isIp(host) && host.endsWith(`.${domain}`);
}

function defaultPath(pathname) {
    if (!pathname.startsWith('/')) return '/';
    const i = pathname.lastIndexOf('/');
    return i <= 0 ? '/' : pathname.slice(0, i);
}

function pathMatch(reqPath, cookiePath) {
    if (reqPath === cookiePath) return true;
    if (!reqPath.startsWith(cookiePath)) return false;
    return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

/** Parses one Set-Cookie line; null when it has no name=value pair. */
export function parseSetCookie(line) {
    const parts = line.split(';');
    const first = parts.shift();
    const eq = first.indexOf('=');
    if (eq < 0) return null;
    const cookie = { name: first.slice(0, eq).trim(), value: first.slice(eq + 1).trim(), attrs: {} };
    if (!cookie.name) return null;
    for (const p of parts) {
        const i = p.indexOf('=');
        const k = (i < 0 ? p : p.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? '' : p.slice(i + 1).trim();
        cookie.attrs[k] = v;
    }
    return cookie;
}

function cookieExpiry(attrs, now) {
    if ('max-age' in attrs && /^-?\d+$/.test(attrs['max-age'])) {
        const s = Number(attrs['max-age']);
        return s <= 0 ? 0 : now + s * 1000;
    }
    if (attrs.expires) {
        const t = Date.parse(attrs.expires);
        if (!Number.isNaN(t)) return t;
    }
    return null; // session cookie
}

export class Browser {
    constructor({ headers = DEFAULT_BROWSER_HEADERS, name = 'browser', agents = {} } = {}) {
        this.headers = { ...headers };
        this.name = name;
        this.agents = agents;
        this.jar = new Map();
    }

    request(url, opts = {}) {
        return request(url, { ...opts, browser: this });
    }

    get(url, opts = {}) {
        return this.request(url, { ...opts, method: 'GET' });
    }

    post(url, form, opts = {}) {
        return this.request(url, { ...opts, method: 'POST', form });
    }

    /** Stores cookies from Set-Cookie lines received for `url`. */
    storeCookies(url, lines) {
        for (const line of lines ?? []) this.setCookie(url, line);
    }

    setCookie(url, line) {
        const u = new URL(url);
        const c = parseSetCookie(line);
        if (!c) return;
        const host = u.hostname.toLowerCase();
        const now = Date.now();
        let domain = (c.attrs.domain ?? '').replace(/^\./, '').toLowerCase();
        const hostOnly = !domain;
        if (hostOnly) domain = host;
        else if (!domainMatch(host, domain)) return; // foreign domain: rejected
        const path = c.attrs.path?.startsWith('/') ? c.attrs.path : defaultPath(u.pathname);
        const secure = 'secure' in c.attrs;
        if (secure && u.protocol !== 'https:' && !LOOPBACK_HOSTS.has(host)) return;
        const key = `${domain}|${path}|${c.name}`;
        const expires = cookieExpiry(c.attrs, now);
        if (expires !== null && expires <= now) {
            this.jar.delete(key);
            return;
        }
        const old = this.jar.get(key);
        this.jar.set(key, {
            name: c.name,
            value: c.value,
            domain,
            hostOnly,
            path,
            expires,
            secure,
            httpOnly: 'httponly' in c.attrs,
            sameSite: c.attrs.samesite,
            created: old?.created ?? now,
            raw: line,
        });
    }

    /** Cookies that would be sent to url (all live cookies without url). */
    cookies(url) {
        const now = Date.now();
        for (const [k, c] of this.jar) if (c.expires !== null && c.expires <= now) this.jar.delete(k);
        const all = [...this.jar.values()];
        if (!url) return all;
        const u = new URL(url);
        const host = u.hostname.toLowerCase();
        const secureOk = u.protocol === 'https:' || LOOPBACK_HOSTS.has(host);
        return all
            .filter((c) => (c.hostOnly ? c.domain === host : domainMatch(host, c.domain)))
            .filter((c) => pathMatch(u.pathname || '/', c.path))
            .filter((c) => !c.secure || secureOk)
            .sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    }

    cookie(name, url) {
        return this.cookies(url).find((c) => c.name === name)?.value;
    }

    cookieHeader(url) {
        return this.cookies(url).map((c) => `${c.name}=${c.value}`).join('; ');
    }

    deleteCookie(name) {
        for (const [k, c] of this.jar) if (c.name === name) this.jar.delete(k);
    }

    clearCookies() {
        this.jar.clear();
    }
}

export function newBrowser(opts) {
    return new Browser(opts);
}

/* --------------------------------------------------------------- forms */

function decodeEntities(s) {
    return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
        const l = e.toLowerCase();
        if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
        if (l.startsWith('#')) return String.fromCodePoint(Number(l.slice(1)));
        return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[l];
    });
}

function attributes(tag) {
    const out = {};
    for (const m of tag.matchAll(/([a-zA-Z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)) {
        out[m[1].toLowerCase()] = decodeEntities(m[3] ?? m[4] ?? m[5] ?? '');
    }
    return out;
}

/** The forms of an HTML page with their hidden/text inputs. */
export function parseForms(html) {
    const forms = [];
    for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
        const a = attributes(m[1]);
        const inputs = {};
        for (const i of m[2].matchAll(/<input\b([^>]*)>/gi)) {
            const ia = attributes(i[1]);
            if (ia.name) inputs[ia.name] = ia.value ?? '';
        }
        forms.push({ id: a.id, action: a.action, method: (a.method ?? 'get').toUpperCase(), inputs });
    }
    return forms;
}

/* ---------------------------------------------------------------- flows */

function isRedirect(res) {
    return res.status >= 300 && res.status < 400 && res.location;
}

function providerForm(res, { username, password, consent, logout }) {
    if (!/text\/html/.test(res.headers['content-type'] ?? '')) return null;
    for (const f of parseForms(res.body)) {
        const action = f.action ? new URL(f.action, res.url).href : res.url;
        if (f.inputs.prompt === 'login' && username !== undefined) {
            return { kind: 'login', action, form: { ...f.inputs, login: username, password } };
        }
        if (f.inputs.prompt === 'consent' && consent) {
            return { kind: 'consent', action, form: { ...f.inputs } };
        }
        if (f.id === 'op.logoutForm' && logout) {
            return { kind: 'logout', action, form: { ...f.inputs, logout: 'yes' } };
        }
    }
    return null;
}

function hopOf(req, res) {
    return {
        method: req.method,
        url: req.url,
        form: req.form,
        status: res.status,
        headers: res.headers,
        location: res.location,
        setCookie: res.setCookie,
        body: res.body,
        response: res,
    };
}

function summarize(hops, extra) {
    const authorization = hops.find((h) => new URL(h.url).searchParams.has('response_type'));
    const providerOrigin = authorization ? new URL(authorization.url).origin : null;
    const callback = hops.find((h) => {
        const u = new URL(h.url);
        return u.origin !== providerOrigin && (u.searchParams.has('code') || u.searchParams.has('error'));
    });
    return { hops, final: hops.at(-1)?.response, authorization, callback, ...extra };
}

async function walk(browser, startUrl, opts) {
    const { maxHops = 25, onRedirect, timeout } = opts;
    const hops = [];
    let req = { method: 'GET', url: startUrl };
    let loginForm = null;
    while (hops.length < maxHops) {
        const res = await browser.request(req.url, { method: req.method, form: req.form, timeout });
        const hop = hopOf(req, res);
        hops.push(hop);
        if (isRedirect(res)) {
            let next = res.location;
            if (onRedirect) {
                const r = await onRedirect(next, hop);
                if (r === false) return summarize(hops, { stoppedAt: next, loginForm });
                if (typeof r === 'string') next = r;
            }
            req = { method: 'GET', url: next };
            continue;
        }
        const form = providerForm(res, opts);
        if (!form) {
            const result = summarize(hops, { loginForm });
            const fromProvider = result.authorization && new URL(res.url).origin === new URL(result.authorization.url).origin;
            if (fromProvider && res.status >= 400 && opts.throwOnProviderError) {
                const title = /<title>([^<]*)<\/title>/i.exec(res.body)?.[1] ?? '';
                const detail = parseForms(res.body).length ? '' : res.body.replace(/<[^>]+>|\s+/g, ' ').slice(-300);
                throw Object.assign(new Error(`provider error ${res.status} at ${res.url}: ${title} ${detail}`.trim()), { result });
            }
            return result;
        }
        if (form.kind === 'login') {
            if (loginForm) {
                const err = new Error(`login refused: the provider asked for a login again (user ${opts.username})`);
                err.result = summarize(hops, { loginForm });
                throw err;
            }
            loginForm = hop;
        }
        req = { method: 'POST', url: form.action, form: form.form };
    }
    throw Object.assign(new Error(`more than ${maxHops} hops from ${startUrl}`), { result: summarize(hops, { loginForm }) });
}

/** Authorization code login by hand; see the top of this file. */
export function login(browser, startUrl, opts = {}) {
    const o = { consent: true, throwOnProviderError: true, ...opts, logout: false };
    o.username ??= 'alice';
    o.password ??= 'secret';
    return walk(browser, startUrl, o);
}

/** Follows a logout, confirming the provider's logout page. */
export function logout(browser, startUrl, opts = {}) {
    return walk(browser, startUrl, { consent: false, throwOnProviderError: true, ...opts, username: undefined, logout: true });
}

/** Follows redirects only. */
export function follow(browser, url, opts = {}) {
    return walk(browser, url, { ...opts, consent: false, logout: false, username: undefined });
}

/* --------------------------------------------------------- raw requests */

function parseRaw(buf) {
    const raw = buf.toString('latin1');
    const end = raw.indexOf('\r\n\r\n');
    if (end < 0) return { raw, complete: false };
    const lines = raw.slice(0, end).split('\r\n');
    const statusLine = lines.shift();
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1]) || null;
    const headerList = lines.map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    const headers = {};
    for (const [k, v] of headerList) {
        const n = k.toLowerCase();
        if (n in headers) headers[n] = [].concat(headers[n], v);
        else headers[n] = v;
    }
    let body = raw.slice(end + 4);
    let complete = false;
    const len = headers['content-length'];
    if (typeof len === 'string' && /^\d+$/.test(len)) {
        complete = body.length >= Number(len);
        body = body.slice(0, Number(len));
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        complete = /(^|\r\n)0\r\n(.*\r\n)*\r\n$/.test(body);
    } else if (status === 304 || status === 204 || (status >= 100 && status < 200)) {
        complete = true;
    }
    return { raw, statusLine, status, headers, headerList, body, complete };
}

/** Sends bytes as they are; see the top of this file. */
export function rawRequest(port, bytes, { host = '127.0.0.1', timeout = 5000, end = true } = {}) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        const sock = net.connect({ port, host });
        let done = false;
        const finish = (extra = {}) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            const buffer = Buffer.concat(chunks);
            resolve({ ...parseRaw(buffer), buffer, timedOut: false, ...extra });
        };
        const timer = setTimeout(() => finish({ timedOut: true }), timeout);
        sock.on('connect', () => {
            sock.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'));
            if (end) sock.end();
        });
        sock.on('data', (c) => {
            chunks.push(c);
            if (parseRaw(Buffer.concat(chunks)).complete) finish();
        });
        sock.on('end', () => finish());
        sock.on('close', () => finish());
        sock.on('error', (e) => {
            if (chunks.length) finish({ error: e });
            else {
                done = true;
                clearTimeout(timer);
                reject(e);
            }
        });
    });
}

// backend.mjs: what sits behind Apache in the tests.
//
//   startBackend({port = 0, render}) -> Promise<backend>
//       An HTTP server on 127.0.0.1 that answers every method and path with
//       JSON {method, url, headers, rawHeaders, body}: headers with lower-case
//       names as node parsed them, rawHeaders [name, value, ...] as received.
//       render(info, req, res) may instead return {status, headers, body} (the
//       demo's HTML page uses it); info is the same object as the JSON.
//   backend.port, backend.url           'http://127.0.0.1:<port>'
//   backend.requests                    every info received, oldest first
//   backend.lastRequest()
//   backend.waitForRequest(pred, {timeout = 5000}) -> the first matching info
//   backend.reset()                     forgets the recorded requests
//   backend.stop()
//
//   cgiEnvScript()                      a /bin/sh CGI script printing its
//                                       environment (text/plain, `env | sort`)
//   writeCgiScript(path)                writes it executable (0755)
//   parseCgiEnv(body) -> {NAME: value}  reads that output back
import http from 'node:http';
import fs from 'node:fs';
import { LOOPBACK, waitFor } from './ports.mjs';

const MAX_BODY = 1024 * 1024;

function readBody(req) {
    return new Promise((resolve) => {
        const chunks = [];
        let size = 0;
        req.on('data', (c) => {
            size += c.length;
            if (size <= MAX_BODY) chunks.push(c);
        });
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
}

function send(res, { status = 200, headers = {}, body = '' }) {
    res.writeHead(status, headers);
    res.end(body);
}

/** Starts the echo backend; see the top of this file. */
export async function startBackend({ port = 0, render } = {}) {
    const requests = [];
    const server = http.createServer(async (req, res) => {
        const info = {
            method: req.method,
            url: req.url,
            headers: { ...req.headers },
            rawHeaders: [...req.rawHeaders],
            body: await readBody(req),
        };
        requests.push(info);
        const custom = render ? await render(info, req, res) : null;
        if (custom) return send(res, custom);
        return send(res, {
            headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
            body: JSON.stringify(info),
        });
    });
    // mod_proxy keeps its connections to the backend open and reuses them;
    // a backend that closes an idle one (node's default: 5 s) races with the
    // next request sent on it, which then gets a 502 now and then. Idle
    // connections stay open here until stop() closes them all.
    server.keepAliveTimeout = 10 * 60 * 1000;
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host: LOOPBACK }, resolve);
    });
    server.unref(); // a forgotten stop() must not keep the process alive
    const actual = server.address().port;
    let stopped = false;
    return {
        server,
        port: actual,
        url: `http://${LOOPBACK}:${actual}`,
        requests,
        lastRequest: () => requests.at(-1),
        waitForRequest: (pred = () => true, { timeout = 5000 } = {}) => waitFor(() => requests.find(pred), { timeout, interval: 10, what: 'a backend request' }),
        reset() {
            requests.length = 0;
        },
        stop() {
            if (stopped) return Promise.resolve();
            stopped = true;
            return new Promise((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            });
        },
    };
}

/** A CGI script that prints its environment, one NAME=value per line. */
export function cgiEnvScript() {
    return [
        '#!/bin/sh',
        "printf 'Content-Type: text/plain\\r\\nCache-Control: no-store\\r\\n\\r\\n'",
        'env | LC_ALL=C sort',
        '',
    ].join('\n');
}

export function writeCgiScript(path) {
    fs.writeFileSync(path, cgiEnvScript(), { mode: 0o755 });
    fs.chmodSync(path, 0o755);
    return path;
}

/** Parses `env` output back into an object. */
export function parseCgiEnv(body) {
    const env = {};
    for (const line of body.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
    }
    return env;
}

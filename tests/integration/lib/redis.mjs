// redis.mjs: throw-away redis-server and memcached on free loopback ports, no
// persistence, for the session-store tests.
//
//   const redis = await startRedis({port = 0, password, args = []})
//   redis.port, redis.host ('127.0.0.1'), redis.spec ('redis:127.0.0.1:<port>',
//       as OAuth2SessionStore takes it)
//   await redis.command('KEYS', '*') -> the decoded reply (strings, numbers,
//       arrays, null; an error reply rejects)
//   await redis.stop()                 idempotent; SIGTERM, then SIGKILL
//
//   const mc = await startMemcached({port = 0, memoryMb = 64, args = []})
//   mc.port, mc.host, mc.spec ('memcache:127.0.0.1:<port>')
//   await mc.command('stats') -> the raw text reply (up to END/ERROR/a line)
//   await mc.stop()                    idempotent; SIGKILL (it keeps nothing)
//
// Both run in the foreground in their own process group, are killed if the
// test process exits, and write nothing to disk but a temporary directory.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor, trackChild, killGroup, guardedCommand, LOOPBACK } from './ports.mjs';

/* ------------------------------------------------------------- RESP */

function encodeCommand(args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
        const b = Buffer.from(String(a));
        parts.push(`$${b.length}\r\n`, b, '\r\n');
    }
    return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

// Returns [value, nextOffset] or null when buf holds no complete reply yet.
function decodeReply(buf, off = 0) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return null;
    const type = String.fromCharCode(buf[off]);
    const line = buf.toString('utf8', off + 1, eol);
    const next = eol + 2;
    switch (type) {
    case '+': return [line, next];
    case '-': return [Object.assign(new Error(line), { redisError: true }), next];
    case ':': return [Number(line), next];
    case '$': {
        const n = Number(line);
        if (n < 0) return [null, next];
        if (buf.length < next + n + 2) return null;
        return [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case '*': {
        const n = Number(line);
        if (n < 0) return [null, next];
        const out = [];
        let o = next;
        for (let i = 0; i < n; i++) {
            const r = decodeReply(buf, o);
            if (!r) return null;
            out.push(r[0]);
            o = r[1];
        }
        return [out, o];
    }
    default:
        throw new Error(`redis: unexpected reply type ${type}`);
    }
}

/** Sends bytes, reads until isComplete(buffer) returns a result. */
function exchange(port, bytes, isComplete, { timeout = 5000 } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ port, host: LOOPBACK });
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error(`no complete reply from ${LOOPBACK}:${port} within ${timeout} ms`));
        }, timeout);
        const done = (fn, v) => {
            clearTimeout(timer);
            sock.destroy();
            fn(v);
        };
        sock.on('connect', () => sock.write(bytes));
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            try {
                const r = isComplete(buf);
                if (r) done(resolve, r.value);
            } catch (e) {
                done(reject, e);
            }
        });
        sock.on('error', (e) => done(reject, e));
        sock.on('close', () => done(reject, new Error('connection closed before a complete reply')));
    });
}

/* ---------------------------------------------------------- servers */

// Directories of servers not stopped: removed when this process exits.
const dirs = new Set();
process.on('exit', () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function spawnServer(bin, args, dir) {
    dirs.add(dir);
    const [cmd, argv] = guardedCommand(bin, args, 'SIGKILL');
    const child = spawn(cmd, argv, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.unref(); // a forgotten stop() must not keep the process alive
    child.stdout.unref();
    child.stderr.unref();
    const untrack = trackChild(child);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.once('error', (e) => { output += `spawn error: ${e.message}\n`; });
    return { child, untrack, exited, output: () => output };
}

async function stopServer(s, dir, signal = 'SIGTERM') {
    if (s.stopped) return;
    s.stopped = true;
    const { child } = s;
    if (child.exitCode === null && child.signalCode === null) {
        killGroup(child.pid, signal);
        let timer;
        const ok = await Promise.race([
            s.exited.then(() => true),
            new Promise((r) => { timer = setTimeout(() => r(false), 5000); }),
        ]);
        clearTimeout(timer);
        if (!ok) {
            killGroup(child.pid, 'SIGKILL');
            await s.exited;
        }
    }
    killGroup(child.pid, 'SIGKILL');
    s.untrack();
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
}

async function waitReady(s, probe, what) {
    try {
        await waitFor(async () => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) {
                throw Object.assign(new Error(`${what} exited`), { fatal: true });
            }
            return probe().catch(() => false);
        }, { timeout: 10000, interval: 25, what });
    } catch (e) {
        killGroup(s.child.pid, 'SIGKILL');
        s.untrack();
        throw new Error(`${what} did not start: ${e.message}\n${s.output()}`);
    }
}

/** Starts redis-server; see the top of this file. */
export async function startRedis({ port = 0, password, args = [] } = {}) {
    const p = port || (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-redis-'));
    const argv = ['--port', String(p), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no',
        '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes', '--loglevel', 'warning'];
    if (password) argv.push('--requirepass', password);
    const s = spawnServer('redis-server', [...argv, ...args], dir);
    const command = async (...cmd) => {
        const pre = password ? encodeCommand(['AUTH', password]) : Buffer.alloc(0);
        const value = await exchange(p, Buffer.concat([pre, encodeCommand(cmd)]), (buf) => {
            let r = decodeReply(buf);
            if (r && password) {
                if (r[0] instanceof Error) return { value: r[0] };
                r = decodeReply(buf, r[1]);
            }
            return r ? { value: r[0] } : null;
        });
        if (value instanceof Error) throw value;
        return value;
    };
    await waitReady(s, async () => (await command('PING')) === 'PONG', `redis-server on port ${p}`);
    return {
        host: LOOPBACK,
        port: p,
        spec: `redis:${LOOPBACK}:${p}`,
        pid: s.child.pid,
        command,
        stop: () => stopServer(s, dir),
    };
}

/** Starts memcached; see the top of this file. */
export async function startMemcached({ port = 0, memoryMb = 64, args = [] } = {}) {
    const p = port || (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mao2-memcached-'));
    const argv = ['-l', LOOPBACK, '-p', String(p), '-U', '0', '-m', String(memoryMb), '-c', '256'];
    if (process.getuid?.() === 0) argv.push('-u', 'nobody');
    const s = spawnServer('memcached', [...argv, ...args], dir);
    const command = (text) => exchange(p, Buffer.from(`${text}\r\n`), (buf) => {
        const t = buf.toString('utf8');
        const complete = /(^|\r\n)(END|ERROR|STORED|NOT_STORED|DELETED|NOT_FOUND|OK|CLIENT_ERROR[^\r]*|SERVER_ERROR[^\r]*)\r\n$/.test(t)
            || /^VERSION [^\r]*\r\n$/.test(t);
        return complete ? { value: t } : null;
    });
    await waitReady(s, async () => /^VERSION /.test(await command('version')), `memcached on port ${p}`);
    return {
        host: LOOPBACK,
        port: p,
        spec: `memcache:${LOOPBACK}:${p}`,
        pid: s.child.pid,
        command,
        // memcached lingers ~0.7 s on SIGTERM and keeps nothing: kill it.
        stop: () => stopServer(s, dir, 'SIGKILL'),
    };
}

/**
 * A TCP link to a store on loopback that a test can cut and mend, as a
 * network partition would: cut() drops every open connection and closes
 * each new one as soon as it is accepted (a connect succeeds, every
 * command then meets the end of the stream); mend() restores the link.
 *
 *   const link = await startLink(redis.port)
 *   link.port, link.spec('redis') -> 'redis:127.0.0.1:<link port>'
 *   link.cut(); link.mend(); await link.stop()
 */
export async function startLink(targetPort) {
    const sockets = new Set();
    let cut = false;
    const server = net.createServer((client) => {
        if (cut) {
            client.destroy();
            return;
        }
        const upstream = net.connect(targetPort, LOOPBACK);
        for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.on('error', () => { client.destroy(); upstream.destroy(); });
        }
        client.pipe(upstream);
        upstream.pipe(client);
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, LOOPBACK, resolve);
    });
    const { port } = server.address();
    return {
        port,
        spec: (kind) => `${kind}:${LOOPBACK}:${port}`,
        cut() {
            cut = true;
            for (const s of sockets) s.destroy();
        },
        mend() {
            cut = false;
        },
        stop: () => new Promise((resolve) => {
            for (const s of sockets) s.destroy();
            server.close(() => resolve());
        }),
    };
}

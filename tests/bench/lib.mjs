// lib.mjs: small pieces of the bench: statistics, wrk, a keep-alive raw HTTP
// client (exact header order, for callgrind), process memory, formatting.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    if (!s.length) return NaN;
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/* ------------------------------------------------------------------ wrk */

const running = new Set();

/** Kills every wrk/valgrind/... child still running (on exit or Ctrl-C). */
export function killChildren() {
    for (const c of running) {
        try {
            process.kill(-c.pid, 'SIGKILL');
        } catch {
            try {
                c.kill('SIGKILL');
            } catch { /* gone */ }
        }
    }
    running.clear();
}

/** Runs a command, resolves {code, stdout, stderr}. */
export function run(bin, args, { timeout = 600000, env } = {}) {
    return new Promise((resolve, reject) => {
        const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: env ?? process.env });
        running.add(child);
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => {
            try {
                process.kill(-child.pid, 'SIGKILL');
            } catch { /* gone */ }
        }, timeout);
        child.once('error', (e) => {
            clearTimeout(timer);
            running.delete(child);
            reject(e);
        });
        child.once('close', (code, signal) => {
            clearTimeout(timer);
            running.delete(child);
            resolve({ code: code ?? signal, stdout, stderr });
        });
    });
}

export function track(child) {
    running.add(child);
    child.once('exit', () => running.delete(child));
}

function toMs(v, unit) {
    const x = Number(v);
    return unit === 'us' ? x / 1000 : unit === 's' ? x * 1000 : unit === 'm' ? x * 60000 : x;
}

/** wrk's output -> {rps, p50, p99 (ms), requests, errors, non2xx}. */
export function parseWrk(out) {
    const num = (re) => {
        const m = re.exec(out);
        return m ? Number(m[1]) : NaN;
    };
    const pct = (p) => {
        const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
        return m ? toMs(m[1], m[2]) : NaN;
    };
    const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        p50: pct(50),
        p99: pct(99),
        requests: num(/(\d+) requests in/),
        non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
        errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    };
}

export async function wrk(url, { threads = 2, connections = 32, seconds = 5, headers = [], cpus = null } = {}) {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s'];
    for (const h of headers) args.push('-H', h);
    args.push(url);
    const r = cpus === null
        ? await run('wrk', args, { timeout: (seconds + 30) * 1000 })
        : await run('taskset', ['-c', String(cpus), 'wrk', ...args], { timeout: (seconds + 30) * 1000 });
    if (r.code !== 0) throw new Error(`wrk failed (${r.code}): ${r.stderr}${r.stdout}`);
    const p = parseWrk(r.stdout);
    if (!(p.rps > 0)) throw new Error(`wrk: no result in\n${r.stdout}`);
    return { ...p, raw: r.stdout };
}

/* ----------------------------------------------- keep-alive raw client */

/**
 * One keep-alive connection; request(text) writes the request bytes as given
 * and resolves with {status, headers, body} once Content-Length bytes came.
 */
export class RawConnection {
    constructor(port, host = '127.0.0.1') {
        this.port = port;
        this.host = host;
        this.buf = Buffer.alloc(0);
        this.waiter = null;
    }

    connect() {
        return new Promise((resolve, reject) => {
            this.sock = net.connect({ port: this.port, host: this.host }, () => resolve(this));
            this.sock.setNoDelay(true);
            this.sock.once('error', reject);
            this.sock.on('data', (d) => {
                this.buf = Buffer.concat([this.buf, d]);
                this.poll();
            });
            this.sock.on('close', () => {
                this.closed = true;
                if (this.waiter) this.waiter.reject(new Error('connection closed'));
                this.waiter = null;
            });
        });
    }

    poll() {
        if (!this.waiter) return;
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head[0])?.[1]);
        const headers = {};
        for (const l of head.slice(1)) {
            const i = l.indexOf(':');
            headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
            this.waiter.reject(new Error('RawConnection: chunked answers are not supported'));
            this.waiter = null;
            return;
        }
        if (this.buf.length < end + 4 + len) return;
        const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
        this.buf = this.buf.subarray(end + 4 + len);
        const w = this.waiter;
        this.waiter = null;
        w.resolve({ status, headers, body });
    }

    request(text) {
        if (this.closed) return Promise.reject(new Error('connection closed'));
        return new Promise((resolve, reject) => {
            this.waiter = { resolve, reject };
            this.sock.write(text);
        });
    }

    close() {
        this.sock?.destroy();
    }

    /**
     * Ends the connection as a client does (FIN) and resolves once the
     * server has closed it too (rejects after `timeout` ms).
     */
    end(timeout = 30000) {
        return new Promise((resolve, reject) => {
            if (this.closed || !this.sock) return resolve();
            const timer = setTimeout(() => reject(new Error(`RawConnection: not closed by the server within ${timeout} ms`)), timeout);
            this.sock.once('close', () => {
                clearTimeout(timer);
                resolve();
            });
            this.sock.end();
        });
    }
}

/**
 * One request on a connection of its own: connect, send, read the answer,
 * end the connection and wait until Apache has closed it too (so that its
 * work for the connection is done before the next one).
 */
export async function requestOnNewConnection(port, text) {
    const c = await new RawConnection(port).connect();
    try {
        const r = await c.request(text);
        await c.end();
        return r;
    } finally {
        c.close();
    }
}

/** GET request text with the header lines given (Host first, as browsers do). */
export function rawGet(port, path, headerLines) {
    return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

/* ------------------------------------------------------------ processes */

export function childPids(pid) {
    const out = [];
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
            if (ppid === pid) out.push(Number(d));
        } catch { /* gone */ }
    }
    return out;
}

/** {rss, shmem, anon} in kB of one process (VmRSS, RssShmem, RssAnon). */
export function memOf(pid) {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(st)?.[1] ?? 0);
    return { rss: kb('VmRSS'), shmem: kb('RssShmem'), anon: kb('RssAnon'), name: /^Name:\s+(\S+)/m.exec(st)?.[1] };
}

/** Apache's worker children (apache2 processes under the parent, not cgid). */
export function apacheChildrenMem(parentPid) {
    // The harness runs apache2 under setpriv, which execs; the parent pid is apache2.
    const kids = childPids(parentPid).map((p) => ({ pid: p, ...memOf(p) })).filter((m) => m.name === 'apache2');
    return kids;
}

/** Bytes of shared anonymous memory (apr_shm, /dev/zero or SysV) mapped by pid. */
export function sharedMappedBytes(pid) {
    let total = 0;
    const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8');
    for (const line of maps.split('\n')) {
        const f = line.split(/\s+/);
        if (f.length < 6 || !f[1]?.includes('s')) continue;
        const name = f.slice(5).join(' ');
        if (/\/dev\/zero|SYSV|\/dev\/shm|anon_shmem/.test(name) || (f[4] === '0' && name === '')) {
            const [a, b] = f[0].split('-').map((x) => BigInt(`0x${x}`));
            total += Number(b - a);
        }
    }
    return total;
}

/* ----------------------------------------------------------- formatting */

export function fmtInt(n) {
    return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

export function fmtMs(n) {
    if (!Number.isFinite(n)) return '—';
    return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
}

export function fmtRatio(n, digits = 2) {
    return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

/** Markdown table -> aligned plain text for the terminal. */
export function table(headers, rows) {
    const all = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
    const w = headers.map((_, i) => Math.max(...all.map((r) => r[i].length)));
    const right = (s) => /^[\d,.—x%×+-]+$|^\d/.test(s);
    const line = (r) => r.map((c, i) => (right(c) && i > 0 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
    const text = [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
    const md = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
        ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
    return { text, md };
}

/**
 * CPU time (ns, user and system) Apache's parent and worker children have
 * used so far: the sum of their threads' /proc/<pid>/task/<tid>/schedstat.
 * Per request, it measures what a configuration costs the machine, where
 * requests/s also carries wrk's and the scheduler's share of a busy
 * 2-core machine.
 */
export function apacheCpuNs(parentPid) {
    let total = 0;
    for (const pid of apachePids(parentPid)) {
        let tids = [];
        try {
            tids = fs.readdirSync(`/proc/${pid}/task`);
        } catch { continue; /* gone */ }
        for (const tid of tids) {
            try {
                total += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
            } catch { /* gone */ }
        }
    }
    return total;
}

/** Binds every thread of pid (and the threads it creates later) to the given CPUs. */
export function pinTo(pid, cpus) {
    const r = spawnSync('taskset', ['-a', '-cp', String(cpus), String(pid)], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`taskset -a -cp ${cpus} ${pid} failed`);
}

/** Apache's parent and its worker children. */
function apachePids(parentPid) {
    return [parentPid, ...apacheChildrenMem(parentPid).map((k) => k.pid)];
}

/** Binds Apache's parent and worker children to the given CPUs. */
export function pinApache(parentPid, cpus) {
    for (const pid of apachePids(parentPid)) pinTo(pid, cpus);
}

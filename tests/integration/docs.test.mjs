// docs.test.mjs: what users paste must work (issue 15). Every ```apache
// block of README.md, every file of conf/examples/ and the commented
// example of conf/auth_oauth2.conf goes through `apache2 -t` with the
// module loaded, placeholders filled in the way a user would (file: values
// point at real files, ${DEMO_*} are defined). A block that configures no
// provider (a <Location> fragment) gets the README's Quick start provider
// in front of it. No line of them may end with a "# comment": Apache has
// none, and on a Require line the words after '#' become group names.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configtest, REPO_ROOT } from './lib/apache.mjs';

const SECRET = 'docs-secret-0123456789abcdefghijklmnopqrstuvwxyz';

/* The ```apache (or other lang) blocks of a Markdown file: [{ line, text }]. */
function apacheBlocks(file, lang = 'apache') {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const out = [];
    let cur = null;
    lines.forEach((l, i) => {
        if (cur === null && l.trim() === `\`\`\`${lang}`) cur = { line: i + 1, text: [] };
        else if (cur !== null && l.trim().startsWith('```')) {
            out.push({ line: cur.line, text: cur.text.join('\n') });
            cur = null;
        }
        else if (cur !== null) cur.text.push(l);
    });
    return out;
}

/* The indented example inside the comments of conf/auth_oauth2.conf. */
function commentedExample(file) {
    return fs.readFileSync(file, 'utf8').split('\n')
        .filter((l) => /^#   /.test(l))
        .map((l) => l.slice(4))
        .join('\n');
}

/* A Google service-account key as Google issues it (OAuth2GoogleServiceAccount
 * reads the file at apache2 -t). */
function serviceAccountKey() {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return JSON.stringify({
        type: 'service_account',
        client_email: 'reader@example-project.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
        token_uri: 'https://oauth2.googleapis.com/token',
    });
}

const DIRECTIVE_WITH_COMMENT = /^\s*(?!#)\S+\s.*?\s#/;

describe('documented configuration passes apache2 -t', () => {
    let dir;
    const files = {};
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oauth2-docs-'));
        fs.chmodSync(dir, 0o755);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /* A file for each file:PATH the snippet names (as the user would
     * create it), readable by the Apache user; the README's example page
     * template for each OAuth2Page file. */
    function fill(text) {
        return text
            .replace(/^\s*LoadModule auth_oauth2_module .*$/m, '')
            .replace(/^(\s*OAuth2Page\s+\S+\s+)(\/\S+)/gm, (_, head, p) => {
                if (!files[p]) {
                    files[p] = path.join(dir, `f${Object.keys(files).length}.html`);
                    fs.writeFileSync(files[p], pageTemplate, { mode: 0o644 });
                }
                return `${head}${files[p]}`;
            })
            .replace(/file:(\/\S+)/g, (_, p) => {
                if (!files[p]) {
                    files[p] = path.join(dir, `f${Object.keys(files).length}`);
                    fs.writeFileSync(files[p], /\.json$/.test(p) ? serviceAccountKey() : `${SECRET}\n`, { mode: 0o644 });
                }
                return `file:${files[p]}`;
            });
    }

    function withProvider(text) {
        if (/^\s*OAuth2Provider\s/m.test(text)) return text;
        return `OAuth2Provider https://accounts.example.com
OAuth2ClientID my-app
OAuth2ClientSecret ${SECRET}
OAuth2Secret ${SECRET}
${text}`;
    }

    async function assertConfigtest(what, text) {
        const r = await configtest(withProvider(fill(text)), {
            withModule: true,
            modules: ['socache_shmcb', 'socache_redis', 'socache_memcache'],
            env: {
                DEMO_ISSUER: 'http://127.0.0.1:9090', DEMO_CLIENT_ID: 'demo', DEMO_CLIENT_SECRET: 'demo-secret',
                DEMO_SECRET: SECRET, DEMO_BACKEND: 'http://127.0.0.1:3000',
            },
        });
        assert.equal(r.code, 0, `${what} fails apache2 -t:\n${r.output}\n--- the snippet ---\n${text}`);
    }

    const readme = path.join(REPO_ROOT, 'README.md');
    const blocks = apacheBlocks(readme);
    // The example page template of the README's Pages section.
    const pageTemplate = apacheBlocks(readme, 'html')[0]?.text ?? '';
    it('has an example page template that uses the variables', () => {
        assert.match(pageTemplate, /\{\{title\}\}/);
        assert.match(pageTemplate, /\{\{#logout_url\}\}/);
    });
    it('finds the README\'s Apache blocks', () => {
        assert.ok(blocks.length >= 9, `${blocks.length} blocks`);
    });
    for (const b of blocks) {
        it(`README.md line ${b.line}`, async () => {
            await assertConfigtest(`README.md line ${b.line}`, b.text);
        });
    }

    const examples = fs.readdirSync(path.join(REPO_ROOT, 'conf', 'examples')).filter((f) => f.endsWith('.conf'));
    for (const f of examples) {
        it(`conf/examples/${f}`, async () => {
            await assertConfigtest(f, fs.readFileSync(path.join(REPO_ROOT, 'conf', 'examples', f), 'utf8'));
        });
    }

    it('conf/auth_oauth2.conf and its commented example', async () => {
        const file = path.join(REPO_ROOT, 'conf', 'auth_oauth2.conf');
        await assertConfigtest('auth_oauth2.conf', fs.readFileSync(file, 'utf8'));
        const example = commentedExample(file);
        assert.match(example, /OAuth2Provider/);
        await assertConfigtest('the example in auth_oauth2.conf', example);
    });

    it('has no directive line that ends with a "# comment", in any snippet or file', () => {
        const texts = [
            ...blocks.map((b) => [`README.md line ${b.line}`, b.text]),
            ...examples.map((f) => [f, fs.readFileSync(path.join(REPO_ROOT, 'conf', 'examples', f), 'utf8')]),
            ['auth_oauth2.conf example', commentedExample(path.join(REPO_ROOT, 'conf', 'auth_oauth2.conf'))],
        ];
        const found = [];
        for (const [what, text] of texts) {
            for (const l of text.split('\n')) if (DIRECTIVE_WITH_COMMENT.test(l)) found.push(`${what}: ${l.trim()}`);
        }
        assert.deepEqual(found, []);
    });
});

// Writes src/test/resources/tokenizers/expected.json, the reference ids that TokenizerParityTest
// compares the Java tokenizer with, using transformers.js on the committed tokenizer files.
//
//   node make_tokenizer_fixtures.mjs NODE_MODULES_DIR
//
// NODE_MODULES_DIR holds @huggingface/transformers and gpt-3-encoder (see README.md). Runs
// offline: the tokenizers are the gzipped files under src/test/resources/tokenizers, unpacked
// into a temporary folder that transformers.js reads as its local model path.
//
// For each tokenizer and each text of cases.json: ids with and without special tokens (HF
// tokenizer(text) / add_special_tokens=False) and decode(ids) with and without
// skip_special_tokens. For each chat: the text Python's jinja2 rendered (jinja2_renders.json,
// written by src/test/python/render_chat_templates.py; jinja2 is the ground truth) and its ids
// with add_special_tokens=False, which is what apply_chat_template(tokenize=True) returns. Where
// transformers.js's own template engine renders a different text, that text is recorded too.
//
// GPT-2 is also checked against gpt-3-encoder, OpenAI's byte-pair encoder ported to JavaScript,
// which proves the tokenizer.json that vendor_tokenizers.mjs built from encoder.json + vocab.bpe.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../resources/tokenizers');
const modules = process.argv[2];
if (!modules) {
  console.error('usage: node make_tokenizer_fixtures.mjs NODE_MODULES_DIR');
  process.exit(2);
}
const transformersEntry = createRequire(path.join(modules, 'x.js')).resolve('@huggingface/transformers');
const { env, AutoTokenizer } = await import(pathToFileURL(transformersEntry).href);
const gpt3Encoder = createRequire(path.join(modules, 'x.js'))('gpt-3-encoder');

const cases = JSON.parse(fs.readFileSync(path.join(fixtures, 'cases.json'), 'utf8'));
const jinja2 = JSON.parse(fs.readFileSync(path.join(fixtures, 'jinja2_renders.json'), 'utf8'));

const localModels = fs.mkdtempSync(path.join(os.tmpdir(), 'laketune-tokenizers-'));
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = localModels;
env.useFSCache = false;

const decode = (tokenizer, ids, skip) =>
  // transformers.js refuses an empty list; Python returns "".
  ids.length === 0 ? '' : tokenizer.decode(ids, { skip_special_tokens: skip });

const out = {
  generator: 'make_tokenizer_fixtures.mjs with @huggingface/transformers '
    + JSON.parse(fs.readFileSync(path.join(path.dirname(transformersEntry), '..', 'package.json'))).version,
  tokenizers: {},
};
const disagreements = [];
for (const name of ['llama3', 'qwen3', 'gpt2']) {
  const dir = path.join(localModels, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'),
    zlib.gunzipSync(fs.readFileSync(path.join(fixtures, name, 'tokenizer.json.gz'))));
  fs.copyFileSync(path.join(fixtures, name, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const tokenizer = await AutoTokenizer.from_pretrained(name);

  const texts = cases.texts.map((text) => {
    const ids = tokenizer.encode(text);
    const idsNoSpecial = tokenizer.encode(text, { add_special_tokens: false });
    if (name === 'gpt2' && !text.includes('<|endoftext|>')) {
      const reference = gpt3Encoder.encode(text);
      if (JSON.stringify(reference) !== JSON.stringify(idsNoSpecial)) {
        throw new Error(`gpt2 tokenizer.json disagrees with gpt-3-encoder on ${JSON.stringify(text)}`);
      }
    }
    return {
      text,
      ids,
      ids_no_special: idsNoSpecial,
      decoded: decode(tokenizer, ids, false),
      decoded_skip_special: decode(tokenizer, ids, true),
    };
  });

  const chats = [];
  for (const chat of cases.chats.filter((c) => c.tokenizers.includes(name))) {
    const reference = jinja2.chats[name][chat.name];
    const { tools = null, ...kwargs } = chat.extra ?? {};
    const own = tokenizer.apply_chat_template(chat.messages, {
      tokenize: false, add_generation_prompt: chat.add_generation_prompt, tools, ...kwargs,
    });
    const entry = {
      name: chat.name,
      text: reference.text,
      ids: tokenizer.encode(reference.text, { add_special_tokens: false }),
      transformers_js_agrees: own === reference.text,
    };
    if (own !== reference.text) {
      entry.transformers_js_text = own;
      disagreements.push(`${name}/${chat.name}`);
    }
    chats.push(entry);
  }
  out.tokenizers[name] = { texts, chats };
}
fs.rmSync(localModels, { recursive: true, force: true });

// One line per id list keeps the file readable and diffable.
const json = JSON.stringify(out, null, 1).replace(/\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]/g,
  (_, list) => `[${list.split(/,\s*/).join(', ')}]`);
fs.writeFileSync(path.join(fixtures, 'expected.json'), json + '\n');
console.log('wrote expected.json');
if (disagreements.length > 0) {
  console.log('transformers.js renders differently from jinja2:', disagreements.join(', '));
}

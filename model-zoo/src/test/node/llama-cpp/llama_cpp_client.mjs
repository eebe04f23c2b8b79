// Drives llama.cpp (node-llama-cpp's prebuilt CPU binaries) for laketune's GGUF tests: loads a
// GGUF model (optionally with GGUF LoRA adapters), tokenizes texts and generates greedily from
// given token ids, and prints one JSON object on stdout. llama.cpp's own log goes to stderr.
//
//   node llama_cpp_client.mjs NODE_MODULES_DIR REQUEST.json
//   node llama_cpp_client.mjs NODE_MODULES_DIR --version    (checks that the binaries load)
//
// REQUEST.json:
//   {"model": "/path/model.gguf",
//    "lora": [{"path": "/path/adapter.gguf", "scale": 1.0}],        optional
//    "contextSize": 512, "threads": 1,       one thread: ggml's spinning workers crawl on a busy 2-core box
//    "kvCacheType": "F32",                  KV cache type (llama.cpp's default is F16)
//    "tokenize": [{"text": "...", "special": true}],   special: parse special-token strings
//    "generate": [{"prompt": [1, 403, 407], "maxTokens": 30, "topK": 0}]}   topK > 0: also report
//                 llama.cpp's topK most probable tokens and their probabilities at each step
// Output:
//   {"nodeLlamaCpp": "3.21.1", "llamaCpp": {"repo", "release"}, "gpu": false, "buildType",
//    "model": {"bos", "eos", "shouldPrependBos", "shouldAppendEos", "vocabularyType", "trainContextSize"},
//    "metadata": {"architecture", "tokenizerModel", "tokenizerPre", "chatTemplate"},
//    "tokenize": [[ids], ...], "generate": [[ids], ...], "top": [[[[id, p], ...] per step] per request with topK]}
// Generation is greedy (temperature 0), without repeat penalty, over the prompt ids exactly as
// given (no BOS added) and yields end-of-generation tokens too, stopping after maxTokens.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, requestFile] = process.argv.slice(2);
if (!modules || !requestFile) {
  console.error('usage: node llama_cpp_client.mjs NODE_MODULES_DIR REQUEST.json');
  process.exit(2);
}
const request = requestFile === '--version' ? null : JSON.parse(fs.readFileSync(requestFile, 'utf8'));
const packageDir = path.join(modules, 'node-llama-cpp');
const version = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
const { getLlama } = await import(pathToFileURL(path.join(packageDir, 'dist', 'index.js')).href);

const llama = await getLlama({
  gpu: false,
  build: 'never',
  usePrebuiltBinaries: true,
  progressLogs: false,
  maxThreads: request?.threads ?? 1,
  logLevel: 'warn',
  logger: (level, message) => process.stderr.write(`[llama.cpp ${level}] ${message}\n`),
});
if (request === null) {
  process.stdout.write(JSON.stringify({ nodeLlamaCpp: version, llamaCpp: llama.llamaCppRelease, gpu: llama.gpu,
    buildType: llama.buildType, systemInfo: llama.systemInfo }) + '\n');
  await llama.dispose();
  process.exit(0);
}
const model = await llama.loadModel({ modelPath: request.model, gpuLayers: 0 });
const out = {
  nodeLlamaCpp: version,
  llamaCpp: llama.llamaCppRelease,
  gpu: llama.gpu,
  buildType: llama.buildType,
  model: {
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    shouldPrependBos: model.tokens.shouldPrependBosToken,
    shouldAppendEos: model.tokens.shouldAppendEosToken,
    vocabularyType: model.vocabularyType,
    trainContextSize: model.trainContextSize,
  },
  // as node-llama-cpp's own GGUF parser (JavaScript, independent of llama.cpp) reads the file
  metadata: {
    architecture: model.fileInfo.metadata?.general?.architecture ?? null,
    tokenizerModel: model.fileInfo.metadata?.tokenizer?.ggml?.model ?? null,
    tokenizerPre: model.fileInfo.metadata?.tokenizer?.ggml?.pre ?? null,
    chatTemplate: model.fileInfo.metadata?.tokenizer?.chat_template ?? null,
  },
  tokenize: (request.tokenize ?? []).map((t) => Array.from(model.tokenize(t.text, t.special ?? true))),
  generate: [],
};
if ((request.generate ?? []).length > 0) {
  const kv = request.kvCacheType ?? 'F16';
  const context = await model.createContext({
    contextSize: request.contextSize ?? 512,
    threads: request.threads ?? 1,
    sequences: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
    lora: request.lora && request.lora.length > 0
      ? { adapters: request.lora.map((a) => ({ filePath: a.path, scale: a.scale ?? 1.0 })) }
      : undefined,
  });
  const sequence = context.getSequence();
  for (const g of request.generate) {
    await sequence.clearHistory();
    const tokens = [];
    const top = [];
    if (g.maxTokens > 0 && g.topK > 0) {
      // with each token, llama.cpp's k most probable next tokens (softmax of its logits)
      for await (const step of sequence.evaluateWithMetadata(g.prompt, { probabilities: true },
        { temperature: 0, yieldEogToken: true })) {
        tokens.push(step.token);
        top.push([...step.probabilities.entries()].slice(0, g.topK));
        if (tokens.length >= g.maxTokens) break;
      }
    } else if (g.maxTokens > 0) {
      for await (const token of sequence.evaluate(g.prompt, { temperature: 0, yieldEogToken: true })) {
        tokens.push(token);
        if (tokens.length >= g.maxTokens) break;
      }
    }
    out.generate.push(tokens);
    if (g.topK > 0) (out.top ??= []).push(top);
  }
  await context.dispose();
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out) + '\n');

#!/usr/bin/env node
// kvsieve's command line: one subcommand per job, each with its own --help.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { quoted } from '../text/safe.js';
import { BENCH_HELP, benchCommand } from './commands/bench.js';
import { CHAT_HELP, chatCommand } from './commands/chat.js';
import { CONVERT_HELP, convertCommand } from './commands/convert.js';
import { DEMO_HELP, demoCommand } from './commands/demo.js';
import { GENERATE_HELP, generateCommand } from './commands/generate.js';
import { INSPECT_HELP, inspectCommand } from './commands/inspect.js';
import { PRESSES_HELP, pressesCommand } from './commands/presses.js';
import { SERVE_HELP, serveCommand } from './commands/serve.js';
import { WEB_HELP, webCommand } from './commands/web.js';
import { exitQuietlyOnEpipe, reportAndExit, UsageError } from './errors.js';

const COMMANDS: Record<string, { help: string; run: (argv: string[]) => Promise<void> }> = {
  demo: { help: DEMO_HELP, run: demoCommand },
  generate: { help: GENERATE_HELP, run: generateCommand },
  chat: { help: CHAT_HELP, run: chatCommand },
  inspect: { help: INSPECT_HELP, run: inspectCommand },
  convert: { help: CONVERT_HELP, run: convertCommand },
  serve: { help: SERVE_HELP, run: serveCommand },
  bench: { help: BENCH_HELP, run: benchCommand },
  presses: { help: PRESSES_HELP, run: pressesCommand },
  web: { help: WEB_HELP, run: webCommand },
};

const USAGE = `kvsieve — long-context LLM inference with KV-cache compression

usage: kvsieve <command> [options]

commands:
  demo       passkey retrieval on the embedded model, full cache vs compressed
  generate   generate text from a prompt
  chat       interactive chat
  inspect    show a GGUF file's metadata, tensors and memory needs
  convert    convert a llama2.c checkpoint to GGUF
  serve      OpenAI-compatible HTTP server with a web page to chat and watch the KV cache
  bench      accuracy, memory and kept tokens of presses on long-context tasks, with an HTML report
  presses    list the KV-cache compression methods
  web        a web page that runs the model in the browser, with a compressed KV cache

Run "kvsieve <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) {
    // No command is a usage error (exit 2), with the usage where errors go.
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (cmd === '--version' || cmd === '-v') {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  // Own keys only: "constructor" or "__proto__" is an unknown command, not Object.prototype's.
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!command) throw new UsageError(`unknown command ${quoted(cmd)} (try kvsieve --help)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.help}\n`);
    return;
  }
  await command.run(rest);
}

exitQuietlyOnEpipe(process.stdout);
main(process.argv.slice(2)).catch(reportAndExit);

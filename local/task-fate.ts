import { posix } from 'node:path';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { DOCKER_HUB, parseImageReference } from '../shared/images/reference.js';
import { dockerfileInstructions } from '../shared/manifest/dockerfile.js';

/**
 * What a service's task does once ECS starts it, read from what ECS itself would read: the registered
 * task definition (the essential container's entryPoint/command, environment and memory) and the
 * service's target group (health check path and matcher). moto runs no container, so the local ECS
 * simulator (local/ecs-simulator.ts) asks this module, and plays the answer as ECS's events. Pure.
 *
 * The rule throughout: a failure is simulated only where the simulator can be sure the container would
 * fail; whatever it cannot tell runs and is healthy, as every task did before it read the definition.
 *
 *  - Command. `entryPoint` + `command` (a manifest's string command is registered as
 *    `["sh", "-c", "<string>"]`). A shell script (`sh|bash|dash|ash -c …`) is followed statement by
 *    statement (`;`, newlines, `&&`, `||`): its first `exit [N]` that runs ends the container with N
 *    (mod 256); a script whose last command is a shell builtin that returns at once (`true`, `false`,
 *    `:`, `echo`, `printf`, `cd`, `export`, `set`, `test`) ends with that command's status (0, or 1 for
 *    `false`) — an essential container that ends, even with 0, stops its task. Every other command is a
 *    program that keeps running and succeeds (so `migrate && exit 3` exits 3, `x || exit 3` does not;
 *    `sleep 60` runs: whether ECS saw the task steady first is a race the simulator does not play).
 *    Exec form: `true`, `false`, `echo`, `printf` end likewise; a shell built-in that is no program
 *    (`[exit, "1"]`: `exit`, `export`, `set`… — no shell runs an exec-form command) cannot start:
 *    the task stops with TaskFailedToStart and "CannotStartContainerError: … executable file not
 *    found in $PATH", and the container has no exit code.
 *  - Memory. The simulator is told how much memory the process uses by the container's environment
 *    variable SIMULATE_MEMORY_MB (MiB; a manifest's `environment: [SIMULATE_MEMORY_MB=1024]`). Above the
 *    hard limit — the container's `memory`, else the task's `memory` (memoryReservation is soft, and
 *    kills nothing) — the kernel kills it: exit 137, OutOfMemoryError.
 *  - ELB health check. The target group's HealthCheckPath is asked of the simulated app (`httpAnswer`)
 *    and its status compared with the Matcher. The simulator knows what an image serves only when the
 *    rack built it (local/build.ts reads the Dockerfile and the build context: `builtApp`), and only
 *    for Apache httpd: a build FROM the official `httpd` image serves the files of its document root
 *    /usr/local/apache2/htdocs (the base image's own index.html, plus what the Dockerfile COPYs or ADDs
 *    there from the context), `<dir>/` by its index.html (or a listing), `<dir>` by a 301 to `<dir>/`,
 *    and 404 for anything else. Any other build, an httpd build whose document root the simulator
 *    cannot list (COPY --from, ADD of a URL or archive, a RUN that mentions htdocs), and every `image:`
 *    the rack pulls (the local registry holds manifests, no layers) answer 200.
 *  - Container health check (`healthCheck.command`): `CMD-SHELL <script>` or `CMD <argv>` that
 *    certainly ends non-zero (the rules above) makes the container UNHEALTHY.
 *
 * ECS's own words for each stop: "Essential container in task exited" (stop code
 * EssentialContainerExited) with the container's exit code; "OutOfMemoryError: Container killed due to
 * memory usage" as the container's reason; "Task failed ELB health checks in (target-group <arn>)" and
 * "Task failed container health checks" (ServiceSchedulerInitiated). Amazon ECS Developer Guide,
 * "Viewing Amazon ECS stopped task errors" https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html,
 * "Troubleshooting Amazon ECS OutOfMemoryError errors" https://docs.aws.amazon.com/AmazonECS/latest/developerguide/out-of-memory.html
 * ("Container killed due to memory usage": the processes in the container used more memory than the task
 * definition allocated), and the sample events under events/ (events/README.md).
 */

/** The environment variable that tells the simulator how much memory (MiB) the container's process uses. */
export const SIMULATE_MEMORY = 'SIMULATE_MEMORY_MB';

/** httpd's document root in the official image. */
export const HTTPD_DOCROOT = '/usr/local/apache2/htdocs';

/** What a simulated image answers over HTTP. */
export interface SimulatedApp {
  /** 'httpd': Apache httpd serving its document root; absent: the simulator cannot tell (every path answers 200) */
  server?: 'httpd';
  /** httpd: URL paths of the files in its document root ("/index.html"); absent: it cannot list them */
  files?: string[];
}

/** The ELB health check of the target group the task registers in (DescribeTargetGroups). */
export interface TargetHealthCheck {
  targetGroupArn: string;
  path: string;
  /** Matcher.HttpCode: "200", "200,302", "200-399" */
  codes: string;
  intervalSeconds: number;
  unhealthyThreshold: number;
  enabled?: boolean;
}

export interface FateInputs {
  /** the task's essential container, as DescribeTaskDefinition returns it */
  container: ContainerDefinition;
  /** the task definition's `memory` (MiB, a string as ECS returns it) */
  taskMemory?: string;
  healthCheck?: TargetHealthCheck;
  /** the service's healthCheckGracePeriodSeconds */
  graceSeconds?: number;
  /** what the container's image serves */
  app?: SimulatedApp;
}

export type TaskFate =
  | { fate: 'runs' }
  /** the container cannot start: `reason` is the stopped reason ECS gives (stop code TaskFailedToStart) */
  | { fate: 'cannot-start'; reason: string; why: string }
  /** the essential container ends by itself */
  | { fate: 'exits'; exitCode: number; why: string }
  | { fate: 'oom'; usedMb: number; limitMb: number; why: string }
  /** the target group marks the target unhealthy; ECS stops the task after `afterSeconds` running */
  | { fate: 'unhealthy'; targetGroupArn: string; status: number; afterSeconds: number; why: string }
  | { fate: 'container-unhealthy'; afterSeconds: number; why: string };

// ------------------------------------------------------------------ commands

/** How a command ends: `ended` false when its last command is a program that keeps running. */
export interface CommandEnd {
  ended: boolean;
  code: number;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'busybox-sh']);
const RETURNING = new Set(['true', ':', 'false', 'echo', 'printf', 'cd', 'export', 'set', 'unset', 'test', '[', 'shift', 'umask', 'wait']);

interface Statement {
  /** the operator before it: ';' (also newline and start) */
  op: ';' | '&&' | '||';
  text: string;
  background: boolean;
}

/** Splits a script at top-level `;`, newlines, `&&`, `||` and `&`, outside quotes. */
function statements(script: string): Statement[] {
  const found: Statement[] = [];
  let op: Statement['op'] = ';';
  let text = '';
  let quote: "'" | '"' | undefined;
  const push = (next: Statement['op'], background = false) => {
    if (text.trim() !== '' || background) found.push({ op, text: text.trim(), background });
    op = next;
    text = '';
  };
  for (let i = 0; i < script.length; i++) {
    const ch = script[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"' && i + 1 < script.length) {
        text += ch + script[++i];
        continue;
      }
      if (ch === quote) quote = undefined;
      text += ch;
      continue;
    }
    if (ch === '\\' && i + 1 < script.length) {
      // a backslash-newline continues the line
      if (script[i + 1] === '\n') i++;
      else text += ch + script[++i];
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      text += ch;
      continue;
    }
    if (ch === '#' && (text === '' || /\s$/.test(text))) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
      continue;
    }
    const two = script.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      push(two);
      i++;
    } else if (ch === ';' || ch === '\n') push(';');
    else if (ch === '&') push(';', true);
    else text += ch;
  }
  if (quote) return [{ op: ';', text: script, background: false }];
  push(';');
  return found.filter((s) => s.text !== '');
}

const unquote = (word: string) => word.replace(/^(['"])(.*)\1$/s, '$2');

/** The command of a statement: leading `VAR=value` assignments and `exec` dropped; the last command of a pipeline. */
function commandWords(text: string): string[] {
  const pipeline = text.split(/\s\|\s|\|(?!\|)/);
  const words = (pipeline.at(-1) ?? '').trim().match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? [];
  let i = 0;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!)) i++;
  if (words[i] === 'exec') i++;
  return words.slice(i).map(unquote);
}

function returns(words: string[]): number | undefined {
  const name = posix.basename(words[0] ?? '');
  if (name === 'false') return 1;
  if (RETURNING.has(name)) return 0;
  return undefined;
}

/**
 * What `sh -c <script>` does, assuming every program it runs succeeds (and keeps running, if it is the
 * last thing the script does).
 */
export function shellEnd(script: string): CommandEnd {
  let status = 0;
  let running = false;
  for (const statement of statements(script)) {
    if (statement.op === '&&' && status !== 0) continue;
    if (statement.op === '||' && status === 0) continue;
    const words = commandWords(statement.text);
    if (statement.background) {
      status = 0;
      running = false;
      continue;
    }
    if (words[0] === 'exit') {
      const n = words[1];
      if (n === undefined) return { ended: true, code: status };
      // dash: "exit: Illegal number" ends the shell with 2
      return { ended: true, code: /^\d+$/.test(n) ? Number(n) % 256 : 2 };
    }
    const code = returns(words);
    running = code === undefined;
    status = code ?? 0;
  }
  return running ? { ended: false, code: 0 } : { ended: true, code: status };
}

/**
 * Shell built-ins that are no program on any image's PATH: POSIX's special built-ins (but `.`, a
 * directory too; https://www.gnu.org/software/bash/manual/html_node/Special-Builtins.html) and bash's
 * `source`. An exec-form command runs no shell, so the runtime looks for one as a file and fails to
 * start the container.
 */
const SHELL_ONLY = new Set(['break', ':', 'continue', 'eval', 'exec', 'exit', 'export', 'readonly', 'return', 'set', 'shift', 'times', 'trap', 'unset', 'source']);

/** The program an exec-form command names that cannot exist as a file (a shell built-in), if it names one. */
export function shellOnlyProgram(argv: string[]): string | undefined {
  const name = argv[0];
  return name !== undefined && !name.includes('/') && SHELL_ONLY.has(name) ? name : undefined;
}

/**
 * The stopped reason of a container whose program is not found, on the ECS-optimized AMI's Docker:
 * ECS's prefix (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cannot-start-container.html,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html: "CannotStartContainerError:
 * <reason>") before the Docker daemon's error, whose last part is runc's
 * ("unable to start container process: exec: …: executable file not found in $PATH",
 * https://github.com/opencontainers/runc/issues/4713).
 */
export function cannotStartReason(program: string): string {
  return `CannotStartContainerError: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown`;
}

/** How an exec-form command (entryPoint + command) ends. */
export function commandEnd(argv: string[]): CommandEnd {
  if (argv.length === 0) return { ended: false, code: 0 };
  const name = posix.basename(argv[0]!);
  if (SHELLS.has(name)) {
    const flag = argv.findIndex((a, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(a));
    if (flag !== -1 && argv.slice(1, flag).every((a) => a.startsWith('-'))) return shellEnd(argv[flag + 1] ?? '');
    return { ended: false, code: 0 };
  }
  const code = name === 'true' || name === 'false' || name === 'echo' || name === 'printf' ? returns(argv) : undefined;
  return code === undefined ? { ended: false, code: 0 } : { ended: true, code };
}

/** A command line as a user reads it: `sh -c "exit 3"`. */
function shown(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

// ------------------------------------------------------------------ HTTP

/** Whether an ALB matcher ("200", "200,302", "200-399") accepts a status code. */
export function matcherAccepts(codes: string, status: number): boolean {
  return codes.split(',').some((part) => {
    const [low, high] = part.trim().split('-').map(Number);
    return high === undefined ? status === low : status >= low! && status <= high;
  });
}

/** The status the simulated app answers a GET of `path` with; undefined when the simulator cannot tell (assume it serves it). */
export function httpAnswer(app: SimulatedApp | undefined, path: string): number | undefined {
  if (app?.server !== 'httpd' || !app.files) return undefined;
  const at = path.split(/[?#]/)[0]!;
  const files = new Set(app.files);
  if (files.has(at)) return 200;
  if (at.endsWith('/')) return files.has(`${at}index.html`) || at === '/' || app.files.some((f) => f.startsWith(at)) ? 200 : 404;
  // mod_dir: a directory without its slash is redirected to it
  return app.files.some((f) => f.startsWith(`${at}/`)) ? 301 : 404;
}

/** Whether a FROM names Docker Hub's official httpd image (any tag or digest). */
export function isOfficialHttpd(reference: string): boolean {
  const ref = parseImageReference(reference);
  return ref.registry === DOCKER_HUB && ref.repository === 'library/httpd';
}

// ------------------------------------------------------------------ Dockerfiles

interface StageSketch {
  name?: string;
  base: string;
  instructions: Array<{ keyword: string; args: string }>;
}

function splitArgs(args: string): string[] | undefined {
  if (args.startsWith('[')) {
    try {
      const parsed = JSON.parse(args) as unknown;
      return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return (args.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []).map(unquote);
}

const GLOB = /[*?[]/;

function globRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

/** The context files a COPY source names, as their paths under the destination ('' = the destination itself). */
function sourceFiles(source: string, contextFiles: string[], intoDirectory: boolean): string[] {
  const src = posix.normalize(source.replace(/^\/+/, '')).replace(/\/+$/, '');
  const all = src === '.' || src === '';
  const matches = (path: string) => (GLOB.test(src) ? globRegExp(src).test(path) : path === src);
  const found: string[] = [];
  for (const file of contextFiles) {
    if (all) {
      found.push(file);
      continue;
    }
    if (matches(file)) {
      found.push(intoDirectory ? posix.basename(file) : '');
      continue;
    }
    // a directory source copies its contents
    const parts = file.split('/');
    for (let n = 1; n < parts.length; n++) {
      const dir = parts.slice(0, n).join('/');
      if (matches(dir)) {
        found.push(parts.slice(n).join('/'));
        break;
      }
    }
  }
  return found;
}

/**
 * What an image built from this Dockerfile and build context serves (see the module comment). `contextFiles`
 * are the regular files of the build context, relative to it ("index.html", "public/app.css").
 */
export function builtApp(dockerfile: string, contextFiles: string[]): SimulatedApp {
  const stages: StageSketch[] = [];
  for (const instruction of dockerfileInstructions(dockerfile)) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      stages.push({ base: words[0] ?? '', ...(words[1]?.toUpperCase() === 'AS' && words[2] ? { name: words[2].toLowerCase() } : {}), instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  // the final stage, through the earlier stages it is built FROM
  const chain: StageSketch[] = [];
  for (let stage = stages.at(-1); stage && !chain.includes(stage); ) {
    chain.unshift(stage);
    const base = stage.base.toLowerCase();
    stage = stages.slice(0, stages.indexOf(stage)).findLast((s) => s.name === base);
  }
  const root = chain[0]?.base ?? '';
  if (root.includes('$') || !isOfficialHttpd(root)) return {};
  const files = new Set(['/index.html']);
  const unknown: SimulatedApp = { server: 'httpd' };
  const directories = new Set([HTTPD_DOCROOT, posix.dirname(HTTPD_DOCROOT)]);
  let workdir = posix.dirname(HTTPD_DOCROOT);
  for (const { keyword, args } of chain.flatMap((s) => s.instructions)) {
    if (keyword === 'WORKDIR') {
      if (args.includes('$')) return unknown;
      workdir = posix.resolve(workdir, unquote(args));
      directories.add(workdir);
    } else if (keyword === 'RUN') {
      if (/htdocs/.test(args)) return unknown;
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      let rest = args;
      const flags: string[] = [];
      for (let flag = /^(--\S+)\s*/.exec(rest); flag; flag = /^(--\S+)\s*/.exec(rest)) {
        flags.push(flag[1]!);
        rest = rest.slice(flag[0].length);
      }
      // from another stage or image: what lands in the document root is not in the context
      if (flags.some((f) => f.startsWith('--from'))) return unknown;
      const words = splitArgs(rest);
      if (!words || words.length < 2) return unknown;
      const sources = words.slice(0, -1);
      const rawDest = words.at(-1)!;
      if (rawDest.includes('$') || sources.some((s) => s.includes('$') || s.startsWith('<<'))) return unknown;
      if (keyword === 'ADD' && sources.some((s) => /^[a-z]+:\/\//i.test(s) || /\.(tar|tgz|tar\.\w+|zip)$/i.test(s))) return unknown;
      const dest = posix.resolve(workdir, rawDest);
      const intoDirectory = rawDest.endsWith('/') || sources.length > 1 || sources.some((s) => GLOB.test(s)) || directories.has(dest);
      for (const source of sources) {
        for (const under of sourceFiles(source, contextFiles, intoDirectory)) {
          const target = under === '' ? dest : posix.join(dest, under);
          directories.add(posix.dirname(target));
          if (target.startsWith(`${HTTPD_DOCROOT}/`)) files.add(target.slice(HTTPD_DOCROOT.length));
        }
      }
    }
  }
  return { server: 'httpd', files: [...files].sort() };
}

// ------------------------------------------------------------------ the fate

const SIMULATED = '[rackless local] simulated:';

function describeApp(app: SimulatedApp): string {
  const files = app.files ?? [];
  const listed = files.slice(0, 5).join(', ');
  return `httpd serves ${HTTPD_DOCROOT}: ${listed}${files.length > 5 ? `, … (${files.length} files)` : ''}`;
}

/**
 * The ECS deployment circuit breaker's failed-task threshold: 0.5 × desired count, at least 3, at most
 * 200 (ECS API Reference, ServiceDeploymentCircuitBreaker `threshold`:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html).
 */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(0.5 * desiredCount)));
}

/** What each task of this container does (see the module comment); the first that applies: command, memory, health. */
export function taskFate(inputs: FateInputs): TaskFate {
  const { container } = inputs;
  const argv = [...(container.entryPoint ?? []), ...(container.command ?? [])];
  const builtin = shellOnlyProgram(argv);
  if (builtin) {
    return {
      fate: 'cannot-start',
      reason: cannotStartReason(builtin),
      why: `${SIMULATED} the container's command (${shown(argv)}) is in exec form and "${builtin}" is a shell built-in, not a program: the container cannot start (a string command runs in sh -c)`,
    };
  }
  const end = commandEnd(argv);
  if (end.ended) {
    return { fate: 'exits', exitCode: end.code, why: `${SIMULATED} the container's command (${shown(argv)}) ends with exit code ${end.code}` };
  }
  const used = Number((container.environment ?? []).find((e) => e.name === SIMULATE_MEMORY)?.value);
  const limit = container.memory ?? (inputs.taskMemory ? Number(inputs.taskMemory) : undefined);
  if (Number.isFinite(used) && used > 0 && limit !== undefined && Number.isFinite(limit) && used > limit) {
    const whose = container.memory !== undefined ? "container's" : "task's";
    return {
      fate: 'oom',
      usedMb: used,
      limitMb: limit,
      why: `${SIMULATED} the process uses ${used} MiB (${SIMULATE_MEMORY}), over the ${whose} ${limit} MiB memory limit: OutOfMemoryError: Container killed due to memory usage`,
    };
  }
  const failures: TaskFate[] = [];
  const probe = container.healthCheck?.command ?? [];
  if (probe[0] === 'CMD-SHELL' || probe[0] === 'CMD') {
    // a CMD probe naming a shell built-in cannot run: every check fails (exit code of the exec: 127, say)
    const result = probe[0] === 'CMD-SHELL' ? shellEnd(probe.slice(1).join(' ')) : shellOnlyProgram(probe.slice(1)) ? { ended: true, code: 127 } : commandEnd(probe.slice(1));
    if (result.ended && result.code !== 0) {
      const hc = container.healthCheck!;
      failures.push({
        fate: 'container-unhealthy',
        afterSeconds: (hc.startPeriod ?? 0) + (hc.interval ?? 30) * (hc.retries ?? 3),
        why: `${SIMULATED} the container health check (${shown(probe.slice(1))}) ends with exit code ${result.code}`,
      });
    }
  }
  const check = inputs.healthCheck;
  if (check && check.enabled !== false) {
    const status = httpAnswer(inputs.app, check.path);
    if (status !== undefined && !matcherAccepts(check.codes, status)) {
      failures.push({
        fate: 'unhealthy',
        targetGroupArn: check.targetGroupArn,
        status,
        // ECS ignores the target's health for the grace period; the ALB needs `unhealthy` failed checks in a row
        afterSeconds: Math.max(inputs.graceSeconds ?? 0, check.intervalSeconds * check.unhealthyThreshold),
        why: `${SIMULATED} GET ${check.path} answers ${status} (${describeApp(inputs.app!)}); the target group's health check expects ${check.codes}`,
      });
    }
  }
  const first = failures.sort((a, b) => ('afterSeconds' in a ? a.afterSeconds : 0) - ('afterSeconds' in b ? b.afterSeconds : 0))[0];
  return first ?? { fate: 'runs' };
}

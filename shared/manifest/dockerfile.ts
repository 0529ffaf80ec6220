/**
 * Just enough of the Dockerfile grammar to answer two questions without Docker: which images does a
 * build start from (to redeploy when one is pushed), and which port does the final stage EXPOSE.
 * Follows https://docs.docker.com/reference/dockerfile/ for directives, continuations, heredocs,
 * ARG/ENV substitution (`$X`, `${X}`, `${X:-d}`, `${X:+w}`) and stage names.
 */

export interface DockerInstruction {
  /** upper-cased keyword: FROM, ARG, ENV, EXPOSE, … */
  keyword: string;
  /** the rest of the logical line, continuations joined */
  args: string;
}

interface Stage {
  /** lower-cased `AS name`, if any */
  name?: string;
  /** the FROM argument after substitution; undefined when a variable could not be resolved */
  base?: string;
  instructions: DockerInstruction[];
  /** ARG defaults declared before the first FROM: a stage's bare `ARG X` inherits them */
  globals: ReadonlyMap<string, string | undefined>;
}

const DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/;
const HEREDOC = /<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g;

/** Splits a Dockerfile into logical instructions (comments, continuations and heredoc bodies removed). */
export function dockerfileInstructions(text: string): DockerInstruction[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escapeChar = '\\';
  let i = 0;
  // parser directives only count before the first comment, blank line or instruction
  for (; i < lines.length; i += 1) {
    const match = DIRECTIVE.exec(lines[i]!.trim());
    if (!match) break;
    if (match[1]!.toLowerCase() === 'escape' && (match[2] === '`' || match[2] === '\\')) escapeChar = match[2];
  }
  const instructions: DockerInstruction[] = [];
  let pending = '';
  for (; i < lines.length; i += 1) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('#') || (pending === '' && trimmed === '')) continue;
    const right = line.replace(/\s+$/, '');
    if (right.endsWith(escapeChar)) {
      pending += `${right.slice(0, -1)} `;
      continue;
    }
    const logical = (pending + line).trim();
    pending = '';
    if (logical === '') continue;
    const match = /^(\S+)\s*([\s\S]*)$/.exec(logical)!;
    const instruction = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim() };
    instructions.push(instruction);
    // heredoc bodies (RUN <<EOF … EOF) may hold lines that look like instructions: skip them
    for (const heredoc of instruction.args.matchAll(HEREDOC)) {
      const stripTabs = heredoc[0].startsWith('<<-');
      for (i += 1; i < lines.length; i += 1) {
        const body = stripTabs ? lines[i]!.replace(/^\t+/, '') : lines[i]!;
        if (body === heredoc[2]) break;
      }
    }
  }
  if (pending.trim() !== '') {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(pending.trim())!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
  }
  return instructions;
}

/** Splits `A=1 B="two words"` / `A` into pairs; quotes are removed. A legacy `ENV K V` is handled by the caller. */
function assignments(args: string): Array<[string, string | undefined]> {
  const pairs: Array<[string, string | undefined]> = [];
  for (const token of args.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []) {
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const value = eq === -1 ? undefined : unquote(token.slice(eq + 1));
    pairs.push([name, value]);
  }
  return pairs;
}

function unquote(value: string): string {
  return value.replace(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g, (_, dq: string | undefined, sq: string | undefined) => (dq !== undefined ? dq.replace(/\\(.)/g, '$1') : (sq ?? '')));
}

/** Substitutes `$X`, `${X}`, `${X:-default}`, `${X:+word}`; undefined when a variable has no value. */
function substitute(text: string, vars: ReadonlyMap<string, string | undefined>): string | undefined {
  let unresolved = false;
  const result = text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      const value = vars.get((braced ?? bare)!);
      const set = value !== undefined && value !== '';
      if (op === '-') return set ? value : (word ?? '');
      if (op === '+') return set ? (word ?? '') : '';
      if (value === undefined) unresolved = true;
      return value ?? '';
    },
  );
  return unresolved ? undefined : result;
}

function parseStages(text: string): Stage[] {
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of dockerfileInstructions(text)) {
    const current = stages.at(-1);
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const base = words[0] === undefined ? undefined : substitute(words[0], globalArgs);
      const name = words[1]?.toUpperCase() === 'AS' ? words[2]?.toLowerCase() : undefined;
      stages.push({ ...(name ? { name } : {}), ...(base ? { base } : {}), instructions: [], globals: globalArgs });
    } else if (!current) {
      // only ARG may precede the first FROM; its defaults feed FROM lines
      if (instruction.keyword === 'ARG') {
        for (const [name, value] of assignments(instruction.args)) {
          globalArgs.set(name, value === undefined ? undefined : substitute(value, globalArgs));
        }
      }
    } else {
      current.instructions.push(instruction);
    }
  }
  return stages;
}

/**
 * The images a Dockerfile builds from: every `FROM`, skipping earlier stage names and `scratch`, with
 * `ARG` defaults substituted. A FROM whose variable has no default is left out (it is unknowable here).
 */
/** How many build stages (FROM instructions) a Dockerfile has: docker build refuses one with none. */
export function dockerfileStages(dockerfile: string): number {
  return parseStages(dockerfile).length;
}

export function dockerfileBaseImages(dockerfile: string): string[] {
  const images: string[] = [];
  const stageNames = new Set<string>();
  for (const stage of parseStages(dockerfile)) {
    const base = stage.base;
    if (base && base.toLowerCase() !== 'scratch' && !stageNames.has(base.toLowerCase()) && !images.includes(base)) {
      images.push(base);
    }
    if (stage.name) stageNames.add(stage.name);
  }
  return images;
}

function stageVariables(stage: Stage, upTo: number): Map<string, string | undefined> {
  const globals = stage.globals;
  const vars = new Map<string, string | undefined>();
  for (const instruction of stage.instructions.slice(0, upTo)) {
    if (instruction.keyword === 'ARG') {
      for (const [name, value] of assignments(instruction.args)) {
        vars.set(name, value === undefined ? (vars.get(name) ?? globals.get(name)) : substitute(value, vars));
      }
    } else if (instruction.keyword === 'ENV') {
      const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(instruction.args);
      const pairs: Array<[string, string | undefined]> = legacy ? [[legacy[1]!, unquote(legacy[2]!)]] : assignments(instruction.args);
      for (const [name, value] of pairs) vars.set(name, value === undefined ? undefined : substitute(value, vars));
    }
  }
  return vars;
}

/**
 * The first TCP port the final stage EXPOSEs, following `FROM <earlier stage>` chains (EXPOSE is
 * inherited). A port exposed only by an external base image is invisible here: undefined.
 */
export function dockerfileExposedPort(dockerfile: string): number | undefined {
  const stages = parseStages(dockerfile);
  const seen = new Set<Stage>();
  let stage = stages.at(-1);
  while (stage && !seen.has(stage)) {
    seen.add(stage);
    for (const [index, instruction] of stage.instructions.entries()) {
      if (instruction.keyword !== 'EXPOSE') continue;
      const vars = stageVariables(stage, index);
      for (const word of instruction.args.split(/\s+/)) {
        const spec = substitute(word, vars);
        const match = spec === undefined ? null : /^(\d+)(?:-\d+)?(?:\/(tcp|udp))?$/i.exec(spec);
        if (!match || match[2]?.toLowerCase() === 'udp') continue;
        const port = Number(match[1]);
        if (port >= 1 && port <= 65535) return port;
      }
    }
    const base = stage.base?.toLowerCase();
    const index = stages.indexOf(stage);
    stage = base === undefined ? undefined : stages.slice(0, index).findLast((s) => s.name === base);
  }
  return undefined;
}

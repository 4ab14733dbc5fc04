import { Argument, type Command, type Option } from 'commander';
import { defineCommand } from '../command.js';

/** The shells `deploytag completion` writes a script for. */
export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;

/** A shell `deploytag completion` writes a script for. */
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What may follow an option that takes a value, or stand as an argument. */
export type CompletionValue =
  | { kind: 'choices'; name: string; choices: readonly string[] }
  | { kind: 'file' | 'dir' | 'command' | 'text'; name: string };

/** One option as completion sees it. */
export interface CompletionOption {
  /** Its spellings, short first (`-c`, `--target-commitish`). */
  flags: readonly string[];
  /** The first line of its help text. */
  description: string;
  /** What its value is, when it takes one. */
  value?: CompletionValue;
  /** True for `--help` and `--version`, which end the command line. */
  terminal: boolean;
}

/** One positional argument as completion sees it. */
export interface CompletionArgument {
  value: CompletionValue;
  /** True when it takes every remaining word (`<command...>`). */
  variadic: boolean;
}

/** One subcommand as completion sees it. */
export interface CompletionCommand {
  name: string;
  summary: string;
  options: readonly CompletionOption[];
  arguments: readonly CompletionArgument[];
}

/** A program's commands, options and arguments: what a completion script is made from. */
export interface CompletionSpec {
  /** The program (`deploytag`); each subcommand is also a bin `<program>-<command>`. */
  program: string;
  options: readonly CompletionOption[];
  commands: readonly CompletionCommand[];
}

/** Words that go into a script unquoted, and so must stay plain. */
const PLAIN = /^[A-Za-z0-9_.:@%+/-]+$/;

function plain(word: string, what: string): string {
  if (!PLAIN.test(word)) {
    throw new Error(`cannot put ${what} ${JSON.stringify(word)} in a completion script`);
  }
  return word;
}

const firstLine = (text: string): string => text.split('\n')[0]?.trim() ?? '';

/** The kind of value a `<name>` stands for, guessed from its name. */
function valueNamed(name: string, choices: readonly string[] | undefined): CompletionValue {
  if (choices !== undefined && choices.length > 0) return { kind: 'choices', name, choices };
  if (/dir|folder/i.test(name)) return { kind: 'dir', name };
  if (/file|path/i.test(name)) return { kind: 'file', name };
  if (/^command$/i.test(name)) return { kind: 'command', name };
  return { kind: 'text', name };
}

function describeOption(option: Option): CompletionOption {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  const valueName = /[<[]([^>\]]+?)(?:\.\.\.)?[>\]]/.exec(option.flags)?.[1];
  return {
    flags,
    description: firstLine(option.description),
    ...(option.required || option.optional
      ? { value: valueNamed(valueName ?? 'value', option.argChoices) }
      : {}),
    terminal: option.long === '--help' || option.long === '--version',
  };
}

/**
 * What a completion script needs of a commander program: its visible subcommands with their
 * options (global ones included) and arguments, read from commander's own help model. The
 * implicit `help` subcommand completes subcommand names.
 *
 * @param program - the program, every subcommand declared (see `createProgram`)
 */
export function describeForCompletion(program: Command): CompletionSpec {
  const help = program.createHelp();
  const listed = help.visibleCommands(program);
  const names = listed.map((c) => c.name()).filter((n) => n !== 'help');
  return {
    program: program.name(),
    options: help.visibleOptions(program).map(describeOption),
    commands: listed.map((cmd) => {
      const implicitHelp = cmd.name() === 'help' && !program.commands.includes(cmd);
      return {
        name: cmd.name(),
        summary: firstLine(cmd.description()),
        options: help.visibleOptions(cmd).map(describeOption),
        arguments: implicitHelp
          ? [{ value: valueNamed('command', names), variadic: false }]
          : help.visibleArguments(cmd).map((a) => ({
              value: valueNamed(a.name(), a.argChoices),
              variadic: a.variadic,
            })),
      };
    }),
  };
}

// ---- bash -----------------------------------------------------------------------------------------

function bashValue(value: CompletionValue | undefined): string {
  switch (value?.kind) {
    case 'choices':
      return `__deploytag_words '${value.choices.map((c) => plain(c, 'choice')).join(' ')}' "$cur"`;
    case 'file':
      return '__deploytag_files -f "$cur"';
    case 'dir':
      return '__deploytag_files -d "$cur"';
    case 'command':
      return '__deploytag_words "$(compgen -c -- "$cur" | sort -u)" "$cur"';
    default:
      return 'COMPREPLY=()';
  }
}

/**
 * The bash completion script: completes subcommands, their long options, the values of options
 * and arguments that have choices, files and folders where a value names one, and works for the
 * per-script bins (`deploytag-set-env --<TAB>`) too. `--option=value` is understood.
 *
 * @param spec - see {@link describeForCompletion}
 */
export function bashCompletion(spec: CompletionSpec): string {
  const fn = `_${plain(spec.program, 'program').replace(/[^A-Za-z0-9_]/g, '_')}`;
  const longs = (options: readonly CompletionOption[]): string =>
    options.flatMap((o) => o.flags.filter((f) => f.startsWith('--'))).join(' ');
  const perCommand: string[] = [];
  const values: string[] = [];
  for (const c of spec.commands) {
    const name = plain(c.name, 'command');
    const valued = c.options.filter((o) => o.value !== undefined).flatMap((o) => o.flags);
    const last = c.arguments.at(-1);
    perCommand.push(
      `    ${name}) opts='${longs(c.options)}'; valued=' ${valued.join(' ')} '; nargs=${c.arguments.length}; variadic=${last?.variadic === true ? 1 : 0} ;;`,
    );
    for (const o of c.options) {
      if (o.value === undefined) continue;
      const keys = o.flags.map((f) => `'${name} ${plain(f, 'option')}'`).join(' | ');
      values.push(`    ${keys}) ${bashValue(o.value)} ;;`);
    }
    c.arguments.forEach((a, i) => {
      values.push(`    '${name} #${i}') ${bashValue(a.value)} ;;`);
    });
  }
  const commandNames = spec.commands.map((c) => c.name).join(' ');
  const bins = spec.commands
    .filter((c) => c.name !== 'help' && c.name !== 'completion')
    .map((c) => `${spec.program}-${c.name}`)
    .join(' ');
  return `# bash completion for ${spec.program}, generated by \`${spec.program} completion bash\` (regenerate after an upgrade).
#   this shell:   source <(${spec.program} completion bash)
#   every shell:  ${spec.program} completion bash > ~/.local/share/bash-completion/completions/${spec.program}

__deploytag_words() {
  local IFS=$'\\n'
  COMPREPLY=($(IFS=$' \\t\\n'; compgen -W "$1" -- "$2"))
}

__deploytag_files() {
  local IFS=$'\\n'
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen "$1" -- "$2"))
}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev= cmd= first=1 i w skip=0 n=0
  local opts= valued= nargs=0 variadic=0 key
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD - 1]}
  # bash splits --option=value at "=": the option is then the word before the "=".
  if [[ $cur == = ]]; then
    cur=
  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
    prev=\${COMP_WORDS[COMP_CWORD - 2]}
  fi
  # The subcommand: named by a ${spec.program}-<command> bin, else the first word not an option.
  case \${COMP_WORDS[0]##*/} in
    ${spec.program}-?*) cmd=\${COMP_WORDS[0]##*/}; cmd=\${cmd#${spec.program}-} ;;
    *)
      for ((i = 1; i < COMP_CWORD; i++)); do
        case \${COMP_WORDS[i]} in
          -*) ;;
          *) cmd=\${COMP_WORDS[i]}; first=$((i + 1)); break ;;
        esac
      done
      ;;
  esac
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      __deploytag_words '${longs(spec.options)}' "$cur"
    else
      __deploytag_words '${commandNames}' "$cur"
    fi
    return 0
  fi
  case $cmd in
${perCommand.join('\n')}
    *) COMPREPLY=(); return 0 ;;
  esac
  if [[ -n $prev && $valued == *" $prev "* ]]; then
    key=$prev
  elif [[ $cur == -* ]]; then
    __deploytag_words "$opts" "$cur"
    return 0
  else
    # Which argument this word is: count the words before it that are not options or their values.
    for ((i = first; i < COMP_CWORD; i++)); do
      w=\${COMP_WORDS[i]}
      if [[ $w == = ]]; then skip=1; continue; fi
      if ((skip)); then skip=0; continue; fi
      case $w in
        --) ;;
        -*) [[ $valued == *" $w "* ]] && skip=1 ;;
        *) n=$((n + 1)) ;;
      esac
    done
    ((variadic && n >= nargs)) && n=$((nargs - 1))
    key=#$n
  fi
  case "$cmd $key" in
${values.join('\n')}
    *) COMPREPLY=() ;;
  esac
  return 0
}

complete -F ${fn} ${spec.program} ${bins}`;
}

// ---- zsh ------------------------------------------------------------------------------------------

/** Quotes text for a single-quoted zsh word. */
const zq = (text: string): string => text.replaceAll("'", `'\\''`);

/** Escapes an `_arguments` description (inside `[...]`). */
const zdesc = (text: string): string =>
  zq(text.replaceAll('\\', '\\\\').replace(/([[\]])/g, '\\$1'));

function zshAction(value: CompletionValue): string {
  const name = zq(value.name.replaceAll(':', ' '));
  switch (value.kind) {
    case 'choices':
      return `:${name}:(${value.choices.map((c) => plain(c, 'choice')).join(' ')})`;
    case 'file':
      return `:${name}:_files`;
    case 'dir':
      return `:${name}:_files -/`;
    case 'command':
      return `:${name}:_command_names -e`;
    case 'text':
      return `:${name}: `;
  }
}

function zshOption(o: CompletionOption): string {
  const flags = o.flags.map((f) => plain(f, 'option'));
  const spelled = flags.map((f) =>
    o.value === undefined ? f : f.startsWith('--') ? `${f}=` : `${f}+`,
  );
  const action = o.value === undefined ? '' : `'${zshAction(o.value)}'`;
  const desc = `'[${zdesc(o.description)}]'`;
  const exclusive = o.terminal ? "'(- *)'" : flags.length > 1 ? `'(${flags.join(' ')})'` : '';
  const names = spelled.length > 1 ? `{${spelled.join(',')}}` : (spelled[0] ?? '');
  return `${exclusive}${names}${desc}${action}`;
}

function zshArguments(c: CompletionCommand): string[] {
  const specs = c.options.map(zshOption);
  c.arguments.forEach((a, i) => {
    specs.push(`'${a.variadic ? '*' : String(i + 1)}${zshAction(a.value)}'`);
  });
  return specs;
}

/**
 * The zsh completion script (`#compdef`): subcommands with their summaries, options with their
 * descriptions and values, for `deploytag` and every per-script bin. Works from `$fpath` or sourced
 * after `compinit`.
 *
 * @param spec - see {@link describeForCompletion}
 */
export function zshCompletion(spec: CompletionSpec): string {
  const program = plain(spec.program, 'program');
  const fn = `_${program.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const bins = spec.commands
    .filter((c) => c.name !== 'help' && c.name !== 'completion')
    .map((c) => `${program}-${c.name}`);
  const functions = spec.commands.map((c) => {
    const specs = zshArguments(c);
    return `${fn}_cmd_${plain(c.name, 'command')}() {\n  _arguments -s -S${specs.map((s) => ` \\\n    ${s}`).join('')}\n}`;
  });
  const described = spec.commands.map((c) => `    '${c.name}:${zq(c.summary)}'`);
  return `#compdef ${[program, ...bins].join(' ')}
# zsh completion for ${program}, generated by \`${program} completion zsh\` (regenerate after an upgrade).
#   this shell:   source <(${program} completion zsh)      (after compinit)
#   every shell:  ${program} completion zsh > "\${fpath[1]}/_${program}"

${functions.join('\n\n')}

${fn}() {
  local cmd
  if [[ $service == ${program}-* ]]; then
    cmd=\${service#${program}-}
  else
    local curcontext=$curcontext state state_descr line
    local -a commands=(
${described.join('\n')}
    )
    _arguments -C${spec.options.map((o) => ` \\\n      ${zshOption(o)}`).join('')} \\
      '1: :->command' \\
      '*:: :->argument' && return 0
    if [[ $state == command ]]; then
      _describe -t commands '${program} command' commands
      return
    fi
    cmd=$words[1]
    curcontext=\${curcontext%:*:*}:${program}-$cmd:
  fi
  (( $+functions[${fn}_cmd_$cmd] )) && ${fn}_cmd_$cmd
}

if [[ $funcstack[1] == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${[program, ...bins].join(' ')}
fi`;
}

/** `deploytag completion bash|zsh`: prints a completion script made from the command list. */
export const completionCommand = defineCommand<Record<string, never>>({
  name: 'completion',
  summary: 'print the bash or zsh completion script: source <(deploytag completion bash)',
  define(cmd) {
    cmd
      .addArgument(new Argument('<shell>', 'bash or zsh').choices(COMPLETION_SHELLS))
      .addHelpText(
        'after',
        '\nExamples:\n  source <(deploytag completion bash)        # this shell (add it to ~/.bashrc)\n  deploytag completion bash > ~/.local/share/bash-completion/completions/deploytag\n  deploytag completion zsh > "${fpath[1]}/_deploytag"   # then restart zsh\n\nCompletes commands, options, option values with fixed choices, and file names where an option\ntakes a file; also for the deploytag-<name> bins.',
      );
  },
  async run(args, _options, io) {
    const { createProgram } = await import('../main.js');
    const spec = describeForCompletion(createProgram());
    io.out(args[0] === 'zsh' ? zshCompletion(spec) : bashCompletion(spec));
    return 0;
  },
});

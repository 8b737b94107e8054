// `completion bash|zsh`: a shell completion script made from the commands and flags themselves, so it
// never lags behind them. zsh runs the bash one through bashcompinit.
import { Argument, type Command } from 'commander';

const FUNC = '_az_traffic_exporter';

/** The words a shell may complete after a flag: its choices, else a file name, else anything. */
function valueWords(o: { argChoices?: string[]; flags: string }): string {
  if (o.argChoices) return `COMPREPLY=($(compgen -W "${o.argChoices.join(' ')}" -- "$cur"))`;
  if (/<(file|dir)[.>]/.test(o.flags)) return /<dir/.test(o.flags) ? 'COMPREPLY=($(compgen -d -- "$cur"))' : 'COMPREPLY=($(compgen -f -- "$cur"))';
  return 'COMPREPLY=()';
}

export function bashCompletion(program: Command, name: string): string {
  const commands = program.commands.filter((c) => c.name() !== 'help');
  const lines: string[] = [
    `# ${name} completion for bash (and zsh): eval "$(${name} completion bash)", or save it in /etc/bash_completion.d/${name}`,
    `${FUNC}() {`,
    '  local cur prev cmd=serve i',
    '  cur="${COMP_WORDS[COMP_CWORD]}"',
    '  prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    `    case "\${COMP_WORDS[i]}" in ${commands.map((c) => c.name()).join('|')}) cmd="\${COMP_WORDS[i]}"; break ;; esac`,
    '  done',
    '  case "$cmd $prev" in',
  ];
  for (const c of commands) {
    for (const o of c.options) {
      if (!o.required && !o.optional) continue;
      lines.push(`    "${c.name()} ${o.long}") ${valueWords(o)}; return ;;`);
    }
  }
  lines.push('  esac', '  if [[ $cur == -* ]]; then', '    case "$cmd" in');
  for (const c of commands) {
    const flags = [...c.options.map((o) => o.long!), '--help'].join(' ');
    lines.push(`      ${c.name()}) COMPREPLY=($(compgen -W "${flags}" -- "$cur")) ;;`);
  }
  lines.push(
    '    esac',
    '  elif ((COMP_CWORD == 1)); then',
    `    COMPREPLY=($(compgen -W "${commands.map((c) => c.name()).join(' ')}" -- "$cur"))`,
    '  elif [[ $cmd == analyze ]]; then',
    '    COMPREPLY=($(compgen -f -- "$cur"))',
    '  fi',
    '}',
    `complete -o filenames -F ${FUNC} ${name}`,
    '',
  );
  return lines.join('\n');
}

export function defineCompletion(program: Command, name: string, out: (s: string) => void): Command {
  return program
    .command('completion')
    .description('print a shell completion script: eval "$(az-traffic-exporter completion bash)" (zsh: completion zsh)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      const script = bashCompletion(program, name);
      out(shell === 'zsh' ? `autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${script}` : script);
    });
}

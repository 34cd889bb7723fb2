"""Shell completion scripts (``devutils completion bash|zsh|fish``), generated from the command tree.

The CLI records its command tree while it builds the parser: every command path maps to the words
and options that may follow it, and every option with a fixed set of values (enums) to those
values.  Bash gets a
``complete -F`` function, zsh loads the same function through ``bashcompinit``, fish gets
``complete -c devutils`` lines guarded by the command path typed so far.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish")


@dataclass
class Node:
    words: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)  # option → choices


def _bash(tree: dict[str, Node]) -> str:
    nexts = []
    values = []
    for path, node in tree.items():
        nexts.append(f'    "{path}") echo "{" ".join(node.words + node.options)}" ;;')
        for option, choices in node.values.items():
            # One value per line: some hold spaces ("Title Case").
            quoted = " ".join(shlex.quote(choice) for choice in choices)
            values.append(f'    "{path} {option}") printf "%s\\n" {quoted} ;;')
    return "\n".join(
        [
            "# devutils completion for bash (and zsh through bashcompinit).",
            '# Load it with: eval "$(devutils completion bash)"',
            "_devutils_next() {",
            '  case "$1" in',
            *nexts,
            "  esac",
            "}",
            "_devutils_values() {",
            '  case "$1" in',
            *values,
            "  esac",
            "}",
            "_devutils() {",
            '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" key="" w i choices',
            '  [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"',
            "  for ((i = 1; i < COMP_CWORD; i++)); do",
            '    w="${COMP_WORDS[i]}"',
            '    case "$w" in -*) continue ;; esac',
            '    case " $(_devutils_next "$key") " in',
            '      *" $w "*) key="${key:+$key }$w" ;;',
            "    esac",
            "  done",
            '  choices="$(_devutils_values "$key $prev")"',
            '  if [ -n "$choices" ]; then',
            "    # Values may hold spaces: matched line by line against the typed prefix with its",
            "    # backslashes removed, offered shell-quoted.",
            "    local IFS=$'\\n' typed=\"${cur//\\\\/}\" c",
            "    COMPREPLY=()",
            "    for c in $choices; do",
            '      [[ "$c" == "$typed"* ]] && COMPREPLY+=("$(printf \'%q\' "$c")")',
            "    done",
            "  else",
            '    COMPREPLY=($(compgen -W "$(_devutils_next "$key")" -- "$cur"))',
            "  fi",
            "}",
            "complete -F _devutils devutils",
            "",
        ]
    )


def _zsh(tree: dict[str, Node]) -> str:
    return "\n".join(
        [
            "#compdef devutils",
            '# devutils completion for zsh. Load it with: eval "$(devutils completion zsh)"',
            # bashcompinit's complete() registers through compdef, which compinit defines: a
            # ~/.zshrc without compinit got "command not found: compdef" and no completion.
            "(( $+functions[compdef] )) || { autoload -U compinit && compinit }",
            "autoload -U +X bashcompinit && bashcompinit",
            _bash(tree),
        ]
    )


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(tree: dict[str, Node]) -> str:
    edges = [f"{path}|{word}" for path, node in tree.items() for word in node.words]
    lines = [
        "# devutils completion for fish. Load it with: devutils completion fish | source",
        "set -g __devutils_edges " + " ".join(_fish_quote(edge) for edge in edges),
        "function __devutils_at",
        "    set -l key ''",
        "    for w in (commandline -opc)[2..-1]",
        "        string match -q -- '-*' $w; and continue",
        '        if contains -- "$key|$w" $__devutils_edges',
        '            set key (string trim -- "$key $w")',
        "        end",
        "    end",
        '    test "$key" = "$argv[1]"',
        "end",
        "complete -c devutils -f",
    ]
    for path, node in tree.items():
        condition = _fish_quote(f"__devutils_at {_fish_quote(path)}")
        if node.words:
            lines.append(
                f"complete -c devutils -n {condition} -a {_fish_quote(' '.join(node.words))}"
            )
        for option in node.options:
            choices = node.values.get(option)
            # fish splits -a on spaces: a value's own spaces are escaped.
            listed = " ".join(choice.replace(" ", "\\ ") for choice in choices or ())
            # -x: the value is one of these, never a file name (-r alone still offers files).
            extra = f" -x -a {_fish_quote(listed)}" if choices else ""
            lines.append(f"complete -c devutils -n {condition} -l {option[2:]}{extra}")
    return "\n".join(lines) + "\n"


def script(shell: str, tree: dict[str, Node]) -> str:
    """The completion script for ``shell``; ``tree`` maps a command path ("" for the top,
    "crypto hash" ...) to what may follow it."""
    if shell == "bash":
        return _bash(tree)
    if shell == "zsh":
        return _zsh(tree)
    return _fish(tree)
